"""lamina.dataset on a Ray cluster started here on 127.0.0.1 with two worker CPUs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator

import pytest
from dataset_shapes import (
    TEST_SETTINGS,
    kill_one,
    make_dataset,
    ray_environment,
    start_ray_head,
    stop_ray,
)

import lamina
from lamina import dataset

from conftest import PACKAGE_ROOT

# Before Ray is imported: it reads its loopback setting once.
ENVIRONMENT = ray_environment(PACKAGE_ROOT)
ray = pytest.importorskip("ray", reason="the Ray tests need ray (in requirements-test.txt)")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    env = ENVIRONMENT
    address = start_ray_head(env)
    try:
        ray.init(address=address, log_to_driver=False)
        nodes = ray.nodes()
        assert [n["NodeManagerAddress"] for n in nodes] == ["127.0.0.1"]
        assert ray.cluster_resources()["CPU"] == 2
        yield address
    finally:
        ray.shutdown()
        stop_ray(env)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shapes")
    make_dataset(folder)
    return folder


def test_a_ray_run_writes_what_a_local_run_writes(
    cluster: str, shapes: Path, tmp_path: Path
) -> None:
    on_ray = dataset.fit_dataset(
        shapes,
        tmp_path / "ray",
        TEST_SETTINGS,
        executor="ray",
        ray_address=cluster,
        progress=False,
    )
    local = dataset.fit_dataset(
        shapes, tmp_path / "local", TEST_SETTINGS, executor="local", workers=2, progress=False
    )
    assert (on_ray.done, on_ray.failed) == (local.done, local.failed) == (32, 2)
    ray_rows = {r["shape"]: r for r in dataset.read_manifest(tmp_path / "ray")}
    for row in dataset.read_manifest(tmp_path / "local"):
        other = ray_rows[row["shape"]]
        assert other["status"] == row["status"] and other["executor"] == "ray"
        if row["status"] == "done":
            # Same settings, seed, data and thread count: the same bytes, wherever it ran.
            assert (tmp_path / "ray" / other["file"]).read_bytes() == (
                tmp_path / "local" / row["file"]
            ).read_bytes()
            assert other["metrics"] == row["metrics"]


def test_a_killed_ray_worker_has_its_shapes_redone(
    cluster: str, shapes: Path, tmp_path: Path
) -> None:
    slow = TEST_SETTINGS.replace(steps=300)
    result = {}

    def run() -> None:
        try:
            result["run"] = dataset.fit_dataset(
                shapes, tmp_path, slow, executor="ray", ray_address=cluster, progress=False
            )
        except BaseException as error:  # shown by the assert below
            result["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    killed = kill_one("ray::_ray_fit_chunk", tmp_path / "manifest.jsonl")
    thread.join(timeout=600)
    assert killed and not thread.is_alive() and "error" not in result, result.get("error")
    rows = dataset.read_manifest(tmp_path)
    assert len(rows) == 34 and result["run"].done == 32
    assert any(r["attempt"] >= 1 for r in rows), "no task was resubmitted"
    for row in rows:
        assert row["status"] == "done" or row["error"], row
        if row["status"] == "done":
            assert lamina.load(tmp_path / row["file"]).fields == 1
