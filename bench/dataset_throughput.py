"""Dataset fitting throughput: shapes per hour per core at the tri-plane processing paper's
settings, scaling from 1 to 2 processes, and Ray's overhead per task.

    python bench/dataset_throughput.py                # the figures (about 15 min on 2 cores)
    python bench/dataset_throughput.py --steps 50     # a quick look

Every run goes through lamina.dataset.fit_dataset, as a user's would: shapes are the
project's own (spheres, boxes, tori, capsules, cylinders, unions and differences, as the
driver's tests make), written to files, read, normalised, sampled, fitted, scored and
written back. Prints one JSON object; bench/RESULTS.md keeps the latest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
sys.path.insert(0, str(ROOT / "bindings" / "python" / "tests"))

from dataset_shapes import make_dataset, ray_environment, start_ray_head, stop_ray  # noqa: E402

import lamina  # noqa: E402
from lamina import dataset  # noqa: E402


def timed_run(
    shapes: Path, out: Path, settings: dataset.FitSettings, **options: Any
) -> Dict[str, Any]:
    """One fit_dataset run; its wall time and the rows' seconds."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    run = dataset.fit_dataset(shapes, out, settings, progress=False, **options)
    wall = time.perf_counter() - start
    done = [r for r in run.rows if r["status"] == "done"]
    ious = sorted(r["metrics"]["iou"] for r in done if r.get("metrics"))
    chamfers = sorted(
        r["metrics"]["chamfer"] for r in done if r.get("metrics") and r["metrics"]["chamfer"]
    )
    return {
        "shapes": run.done,
        "failed": run.failed,
        "wall_seconds": round(wall, 2),
        "seconds_per_shape": round(wall / max(1, run.done), 3),
        "median_iou": ious[len(ious) // 2] if ious else None,
        "median_chamfer": chamfers[len(chamfers) // 2] if chamfers else None,
    }


def ray_overhead(shapes: Path, work: Path, tasks: int) -> Dict[str, Any]:
    """Seconds per task that Ray adds: the same tiny tasks (one shape, one step, no scoring)
    inline and on a local 2-CPU Ray cluster (started here on 127.0.0.1), one at a time.
    """
    ray_environment(ROOT / "bindings" / "python")  # before Ray is imported
    import ray

    tiny = dataset.FitSettings(
        steps=1,
        batch_size=256,
        samples=512,
        score=False,
        chunk_size=1,
        resolution=8,
        channels=4,
        fourier=0,
        hidden=(8,),
    )
    good = [s for s in dataset.find_shapes(shapes) if s.name not in ("broken", "flat")]
    files = [s.path for s in good][:tasks]
    env = ray_environment(ROOT / "bindings" / "python")
    address = start_ray_head(env)
    try:
        ray.init(address=address, log_to_driver=False)
        timed_run(shapes, work / "warm", tiny, executor="ray")  # starts Ray's workers
        inline = timed_run(files, work / "inline", tiny, executor="inline")
        on_ray = timed_run(files, work / "ray", tiny, executor="ray")
    finally:
        ray.shutdown()
        stop_ray(env)
    # Ray runs two tasks at once on its two CPUs: its CPU-seconds per task less the inline
    # seconds per task is what each task costs beyond its own work.
    ray_slot = 2 * on_ray["wall_seconds"] / on_ray["shapes"]
    inline_task = inline["wall_seconds"] / inline["shapes"]
    return {
        "tasks": on_ray["shapes"],
        "inline_seconds_per_task": round(inline_task, 4),
        "ray_wall_seconds_per_task": round(on_ray["wall_seconds"] / on_ray["shapes"], 4),
        "ray_overhead_cpu_seconds_per_task": round(ray_slot - inline_task, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--steps", type=int, default=1000, help="steps per shape (the paper's 1000)"
    )
    parser.add_argument("--shapes", type=int, default=4, help="shapes per measured run")
    parser.add_argument("--chunk-size", type=int, default=2, help="shapes per many-field fit")
    parser.add_argument("--ray-tasks", type=int, default=16, help="tiny tasks for Ray's overhead")
    args = parser.parse_args()
    settings = dataset.FitSettings(steps=args.steps, chunk_size=args.chunk_size)
    with tempfile.TemporaryDirectory(prefix="lamina-bench-") as tmp:
        work = Path(tmp)
        pool = work / "all"
        pool.mkdir()
        make_dataset(pool, copies=1)
        picked = [
            s.path
            for s in dataset.find_shapes(pool)
            if "broken" not in s.name and "flat" not in s.name
        ]
        shapes = work / "shapes"
        shapes.mkdir()
        for i, path in enumerate(picked[: 2 * args.shapes]):
            shutil.copy(path, shapes / f"s{i:02d}{Path(path).suffix}")
        half = work / "half"
        half.mkdir()
        for path in sorted(shapes.iterdir())[: args.shapes]:
            shutil.copy(path, half / path.name)
        one = timed_run(half, work / "one", settings, executor="local", workers=1, threads=1)
        print(json.dumps({"one_process": one}), file=sys.stderr, flush=True)
        two = timed_run(shapes, work / "two", settings, executor="local", workers=2, threads=1)
        print(json.dumps({"two_processes": two}), file=sys.stderr, flush=True)
        overhead = ray_overhead(pool, work, args.ray_tasks)
    cores = os.cpu_count() or 1
    report = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": cores,
            "lamina": lamina.__version__,
        },
        "settings": settings.to_dict(),
        "one_process": one,
        "two_processes": two,
        "shapes_per_hour_per_core": round(3600 / one["seconds_per_shape"], 1),
        "scaling_1_to_2": round(one["seconds_per_shape"] / two["seconds_per_shape"], 3),
        "ray": overhead,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
