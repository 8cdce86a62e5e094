"""The ``lamina`` command, run as a shell user runs it (``python -m lamina``, a new process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import numpy as np
import pytest
from dataset_shapes import make_dataset

import lamina

from conftest import PACKAGE_ROOT

SMALL = [
    "--resolution",
    "16",
    "--channels",
    "8",
    "--fourier",
    "4",
    "--hidden",
    "32",
    "--steps",
    "60",
    "--batch-size",
    "1024",
    "--samples",
    "4096",
    "--learning-rate",
    "3e-3",
]


def lamina_command(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "lamina", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def torus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    vertices, faces = lamina.shape_mesh(
        {"type": "torus", "major": 0.5, "minor": 0.2}, resolution=32
    )
    lamina.save_mesh(folder / "torus.obj", vertices * 3 + 1, faces)
    return folder / "torus.obj"


@pytest.fixture(scope="module")
def fitted(torus: Path) -> Path:
    out = torus.with_name("torus.safetensors")
    done = lamina_command("fit-mesh", str(torus), "-o", str(out), *SMALL)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["output"] == str(out) and 0 < report["metrics"]["iou"] <= 1
    assert "fitting" in done.stderr
    return out


def test_fit_mesh_writes_a_field_in_the_meshs_own_coordinates(torus: Path, fitted: Path) -> None:
    field = lamina.load(fitted)
    vertices, _ = lamina.load_mesh(torus)
    # The field's box holds the mesh (it was fitted in the normalised box and moved back).
    low, high = field.bounds[:3], field.bounds[3:]
    assert (vertices.min(axis=0) > low).all() and (vertices.max(axis=0) < high).all()
    assert np.abs(field.predict(vertices)).mean() < 0.05 * np.ptp(vertices, axis=0).max()


def test_mesh_extracts_the_surface(fitted: Path, torus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.ply"
    done = lamina_command("mesh", str(fitted), "-o", str(out), "--resolution", "48")
    assert done.returncode == 0, done.stderr
    vertices, faces = lamina.load_mesh(out)
    assert json.loads(done.stdout)["faces"] == len(faces) > 100
    source, _ = lamina.load_mesh(torus)
    np.testing.assert_allclose(vertices.max(axis=0), source.max(axis=0), atol=0.2)


def test_info_prints_spec_tensors_and_parameter_count(fitted: Path) -> None:
    done = lamina_command("info", str(fitted), "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    field = lamina.load(fitted)
    assert info["parameters"] == field.parameter_count and info["kind"] == "triplane"
    assert info["tensors"]["0.planes"] == [3, 8, 16, 16] and info["spec"] == field.spec
    text = lamina_command("info", str(fitted))
    assert "0.planes" in text.stdout and f"{field.parameter_count} parameters" in text.stdout


def test_slice_draws_a_png(fitted: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "slice.png"
    done = lamina_command(
        "slice", str(fitted), "-o", str(out), "--axis", "y", "--resolution", "64"
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_dataset_with_export_and_resume(tmp_path: Path) -> None:
    shapes = tmp_path / "shapes"
    shapes.mkdir()
    make_dataset(shapes, copies=1)
    out = tmp_path / "out"
    args: List[str] = [
        "fit-dataset",
        str(shapes),
        "-o",
        str(out),
        "--workers",
        "2",
        "--chunk-size",
        "4",
        "--export",
        str(tmp_path / "planes.npy"),
        *SMALL,
    ]
    first = lamina_command(*args)
    # Two files are not shapes: the run finishes, says so, and exits 3.
    assert first.returncode == 3, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["done"], summary["failed"]) == (16, 2)
    assert "failed: broken" in first.stderr and "failed: flat" in first.stderr
    assert np.load(tmp_path / "planes.npy").shape == (16, 3, 8, 16, 16)
    refused = lamina_command(*args)
    assert (
        refused.returncode == 1
        and "lamina: error:" in refused.stderr
        and "--resume" in refused.stderr
    )
    again = lamina_command(*args, "--resume", "--quiet")
    assert again.returncode == 3 and json.loads(again.stdout)["skipped"] == 16


def test_errors_and_usage_give_the_exit_codes_a_shell_expects(tmp_path: Path) -> None:
    missing = lamina_command("info", str(tmp_path / "nope.safetensors"))
    assert missing.returncode == 1 and missing.stderr.startswith("lamina: error:")
    assert "Traceback" not in missing.stderr
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    bad = lamina_command("mesh", str(junk), "-o", str(tmp_path / "x.ply"))
    assert bad.returncode == 1 and "lamina: error:" in bad.stderr
    assert not (tmp_path / "x.ply").exists()
    usage = lamina_command("mesh", str(junk))
    assert usage.returncode == 2 and "-o/--output" in usage.stderr
    assert lamina_command().returncode == 2
    for command in ("fit-mesh", "mesh", "fit-dataset", "export-planes", "info", "slice"):
        shown = lamina_command(command, "--help")
        assert shown.returncode == 0 and shown.stdout.startswith(f"usage: lamina {command}")
    kan = tmp_path / "kan.safetensors"
    lamina.KAN(width=[2, 3, 1]).save(kan)
    not_field = lamina_command("mesh", str(kan), "-o", str(tmp_path / "k.ply"))
    assert not_field.returncode == 1 and "not a tri-plane field" in not_field.stderr
