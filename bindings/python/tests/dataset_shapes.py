"""A generated dataset for the driver's tests: shapes made by the library's own shape and mesh
code, of varied size, position and topology (genus 0 and 1, two components), in every mesh
format the driver reads, plus files that are not shapes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import lamina
from lamina.dataset import FitSettings, write_stl

#: Settings small enough for CI (the figures use the defaults).
TEST_SETTINGS = FitSettings(
    resolution=16,
    channels=8,
    fourier=4,
    hidden=(32,),
    steps=80,
    batch_size=1024,
    samples=4096,
    learning_rate=3e-3,
    chunk_size=4,
    score_points=4096,
    score_samples=4096,
    score_resolution=24,
)

#: Shapes that cannot be fitted, with a word the failure message must contain.
BAD_SHAPES = {"broken.obj": "FormatError", "flat.obj": "positive area"}


def _primitives() -> List[Dict[str, Any]]:
    shapes: List[Dict[str, Any]] = []
    for r in (0.3, 0.5, 0.8):
        shapes.append({"type": "sphere", "radius": r})
    for half in ([0.5, 0.3, 0.2], [0.2, 0.6, 0.4], [0.4, 0.4, 0.4]):
        shapes.append({"type": "box", "half_extents": half})
    for major, minor in ((0.5, 0.2), (0.6, 0.1), (0.4, 0.25)):
        shapes.append({"type": "torus", "major": major, "minor": minor})
    for radius in (0.15, 0.3):
        shapes.append({"type": "capsule", "radius": radius})
    for radius in (0.2, 0.4):
        shapes.append({"type": "cylinder", "radius": radius, "half_height": 0.5})
    shapes.append(
        {
            "type": "union",
            "shapes": [
                {"type": "sphere", "radius": 0.25, "center": [-0.5, 0, 0]},
                {"type": "sphere", "radius": 0.25, "center": [0.5, 0, 0]},
            ],
        }
    )
    shapes.append(
        {
            "type": "difference",
            "shapes": [
                {"type": "box", "half_extents": [0.5, 0.3, 0.5]},
                {"type": "cylinder", "radius": 0.2, "half_height": 0.6},
            ],
        }
    )
    shapes.append(
        {
            "type": "union",
            "shapes": [
                {"type": "torus", "major": 0.5, "minor": 0.12},
                {"type": "sphere", "radius": 0.2},
            ],
        }
    )
    return shapes


def make_dataset(folder: Path, copies: int = 2) -> List[str]:
    """Write ``copies`` x 16 good shapes (each copy scaled and moved differently, so sizes
    run from 0.2 to 20 units) and the bad files of :data:`BAD_SHAPES` under ``folder``
    (some in a subfolder); returns the good shapes' names."""
    names = []
    for copy in range(copies):
        for i, shape in enumerate(_primitives()):
            vertices, faces = lamina.shape_mesh(shape, resolution=20 + 4 * (i % 3))
            scale = (0.25, 4.0, 25.0)[(i + copy) % 3]
            vertices = vertices * scale + scale * (copy - 0.5)
            sub = "part" if i % 4 == 0 else ""
            suffix = (".obj", ".ply", ".stl")[(i + copy) % 3]
            name = f"{sub + '/' if sub else ''}{shape['type']}_{copy}_{i}"
            path = folder / f"{name}{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            if suffix == ".stl":
                write_stl(path, vertices, faces)
            else:
                lamina.save_mesh(path, vertices, faces)
            names.append(name)
    (folder / "broken.obj").write_text("v 0 0 0\nv 1 0 0\nf 1 2 7\n")
    (folder / "flat.obj").write_text("v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n")
    return names


def kill_one(pattern: str, after: Path, timeout: float = 60.0, children: bool = False) -> int:
    """Once ``after`` (a manifest) has a row, SIGKILL one process whose command line holds
    ``pattern`` (a child of this one, with ``children``); returns its pid (0 if none was
    found in ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if after.is_file() and after.stat().st_size > 0:
            for pid in _processes(pattern, os.getpid() if children else None):
                try:
                    os.kill(pid, signal.SIGKILL)
                    return pid
                except ProcessLookupError:
                    continue
        time.sleep(0.02)
    return 0


def _processes(pattern: str, parent: "int | None") -> List[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:
            continue
        if pattern not in command:
            continue
        if parent is not None:
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) != parent:
                continue
        found.append(int(entry.name))
    return found


def ray_environment(package_root: Path) -> Dict[str, str]:
    """The environment for a test's Ray cluster, also set in this process before Ray is
    imported: workers find this checkout's package and library, and Ray stays on the
    loopback address (on Linux it replaces 127.0.0.1 by the machine's routable address
    unless its single-machine mode, named for Windows and macOS, is on), and the cluster
    takes only callers holding this run's token (Ray's token authentication, which it also
    turns on by itself once a token file exists)."""
    import secrets

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(package_root), env.get("PYTHONPATH")]))
    return env


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ray_command() -> str:
    return shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"


def start_ray_head(env: Dict[str, str], cpus: int = 2) -> str:
    """Start a one-node Ray cluster on 127.0.0.1 with ``cpus`` worker CPUs; its address."""
    port = free_port()
    subprocess.run(
        [
            _ray_command(),
            "start",
            "--head",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(port),
            "--num-cpus",
            str(cpus),
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    return f"127.0.0.1:{port}"


def stop_ray(env: Dict[str, str]) -> None:
    """Stop the Ray processes ``start_ray_head`` started."""
    subprocess.run([_ray_command(), "stop", "--force"], env=env, capture_output=True, timeout=120)
