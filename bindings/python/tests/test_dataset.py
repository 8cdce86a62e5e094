"""lamina.dataset: the driver on a generated dataset, in this process and on a spawned pool."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from dataset_shapes import BAD_SHAPES, TEST_SETTINGS, kill_one, make_dataset

import lamina
from lamina import dataset
from lamina.dataset.manifest import Manifest


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shapes")
    make_dataset(folder)
    return folder


@pytest.fixture(scope="module")
def local_run(shapes: Path, tmp_path_factory: pytest.TempPathFactory) -> dataset.DatasetRun:
    out = tmp_path_factory.mktemp("local")
    return dataset.fit_dataset(
        shapes, out, TEST_SETTINGS, executor="local", workers=2, progress=False
    )


def test_every_good_shape_is_done_and_every_bad_one_failed_with_its_reason(
    shapes: Path, local_run: dataset.DatasetRun
) -> None:
    names = {s.name for s in dataset.find_shapes(shapes)}
    rows = {r["shape"]: r for r in dataset.read_manifest(local_run.output)}
    assert set(rows) == names and len(names) == 34
    for file, reason in BAD_SHAPES.items():
        row = rows[Path(file).stem]
        assert row["status"] == "failed" and reason in row["error"], row
        assert row["file"] is None
    good = [r for r in rows.values() if r["shape"] not in {Path(f).stem for f in BAD_SHAPES}]
    assert all(r["status"] == "done" for r in good), [r for r in good if r["status"] != "done"]
    assert (local_run.done, local_run.failed, local_run.skipped) == (32, 2, 0)


def test_each_file_loads_alone_and_matches_its_manifest_row(local_run: dataset.DatasetRun) -> None:
    for row in dataset.read_manifest(local_run.output):
        if row["status"] != "done":
            continue
        field = lamina.load(local_run.output / row["file"])
        assert isinstance(field, lamina.TriplaneField) and field.fields == 1
        assert field.spec["resolution"] == TEST_SETTINGS.resolution
        assert set(row["metrics"]) == {"iou", "chamfer", "fscore", "normal_consistency"}
        assert row["seconds"] > 0 and row["loss"] > 0
        assert len(row["center"]) == 3 and row["scale"] > 0
        # The shape's own surface, normalised, is near the field's zero set.
        vertices = dataset.read_shape(row["source"])[0]
        normalised = (vertices - np.asarray(row["center"])) * row["scale"]
        assert np.abs(field.predict(normalised.astype(np.float32))).mean() < 0.1, row["shape"]


def test_the_fits_score_well_enough_to_mean_something(local_run: dataset.DatasetRun) -> None:
    done = [r for r in local_run.rows if r["status"] == "done"]
    ious = np.array([r["metrics"]["iou"] for r in done])
    chamfers = np.array([r["metrics"]["chamfer"] for r in done])
    # 80 steps at 16^2 planes: rough but clearly the shapes (IoU at near-surface points,
    # which discriminates more than uniform ones; measured median 0.64, least 0.52).
    assert np.median(ious) > 0.6 and ious.min() > 0.4 and np.median(chamfers) < 0.05, (
        ious,
        chamfers,
    )


def test_normalisation_maps_back_to_the_source(
    shapes: Path, local_run: dataset.DatasetRun
) -> None:
    row = next(r for r in local_run.rows if r["shape"].startswith("sphere_1_1"))
    source = next(s for s in dataset.find_shapes(shapes) if s.name == row["shape"])
    shape = dataset.load_shape(source, TEST_SETTINGS.fill)
    original = dataset.read_shape(source.path)[0]
    back = shape.vertices.astype(np.float64) / row["scale"] + np.asarray(row["center"])
    np.testing.assert_allclose(back, original, rtol=1e-5, atol=1e-5 * np.abs(original).max())
    extent = shape.vertices.max(axis=0) - shape.vertices.min(axis=0)
    assert extent.max() == pytest.approx(2 * TEST_SETTINGS.fill, rel=1e-5)


def test_inline_and_local_runs_write_the_same_bytes(shapes: Path, tmp_path: Path) -> None:
    picked = [
        s.path for s in dataset.find_shapes(shapes) if Path(s.name).name.startswith("torus_0")
    ]
    inline = dataset.fit_dataset(
        picked, tmp_path / "inline", TEST_SETTINGS, executor="inline", progress=False
    )
    local = dataset.fit_dataset(
        picked, tmp_path / "local", TEST_SETTINGS, executor="local", workers=2, progress=False
    )
    assert inline.done == local.done == len(picked) == 3
    for a, b in zip(inline.rows, local.rows):
        assert a["shape"] == b["shape"] and a["metrics"] == b["metrics"]
        assert (tmp_path / "inline" / a["file"]).read_bytes() == (
            tmp_path / "local" / b["file"]
        ).read_bytes()


def test_resume_skips_done_shapes_and_retries_failed_ones(shapes: Path, tmp_path: Path) -> None:
    good = sorted(str(p) for p in shapes.glob("*.obj") if p.name not in BAD_SHAPES)
    files = good[:3] + [str(shapes / "broken.obj")]
    first = dataset.fit_dataset(files, tmp_path, TEST_SETTINGS, executor="inline", progress=False)
    assert (first.done, first.failed) == (3, 1)
    with pytest.raises(lamina.InvalidArgumentError, match="resume"):
        dataset.fit_dataset(files, tmp_path, TEST_SETTINGS, executor="inline", progress=False)
    with pytest.raises(lamina.InvalidArgumentError, match="steps differ"):
        dataset.fit_dataset(
            files,
            tmp_path,
            TEST_SETTINGS.replace(steps=81),
            executor="inline",
            resume=True,
            progress=False,
        )
    second = dataset.fit_dataset(
        files, tmp_path, TEST_SETTINGS, executor="inline", resume=True, progress=False
    )
    assert (second.done, second.failed, second.skipped) == (0, 1, 3)
    # A done shape whose file went missing is fitted again.
    done = next(r for r in first.rows if r["status"] == "done")
    (tmp_path / done["file"]).unlink()
    third = dataset.fit_dataset(
        files, tmp_path, TEST_SETTINGS, executor="inline", resume=True, progress=False
    )
    assert (third.done, third.failed, third.skipped) == (1, 1, 2)
    assert [r["shape"] for r in third.rows if r["status"] == "done"] == [done["shape"]]
    assert len(list(Manifest(tmp_path).rows())) == 4 + 1 + 2


def test_a_killed_driver_leaves_whole_files_only(shapes: Path, tmp_path: Path) -> None:
    files = sorted(str(p) for p in shapes.glob("*.obj") if p.name not in BAD_SHAPES)[:2]
    dataset.fit_dataset(files, tmp_path, TEST_SETTINGS, executor="inline", progress=False)
    # What a driver killed mid-write leaves: a temporary file and half a manifest line.
    stale = tmp_path / "shapes" / ".x.safetensors.tmp-123"
    stale.write_bytes(b"partial")
    with open(tmp_path / "manifest.jsonl", "a") as f:
        f.write('{"shape": "cut sh')
    run = dataset.fit_dataset(
        files, tmp_path, TEST_SETTINGS, executor="inline", resume=True, progress=False
    )
    assert run.skipped == 2 and not stale.exists()
    assert len(dataset.read_manifest(tmp_path)) == 2


def test_a_killed_worker_is_replaced_and_its_shapes_redone(shapes: Path, tmp_path: Path) -> None:
    slow = TEST_SETTINGS.replace(steps=300)
    result = {}

    def run() -> None:
        try:
            result["run"] = dataset.fit_dataset(
                shapes, tmp_path, slow, executor="local", workers=2, progress=False
            )
        except BaseException as error:  # shown by the assert below
            result["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    killed = kill_one("multiprocessing.spawn", tmp_path / "manifest.jsonl", children=True)
    thread.join(timeout=600)
    assert killed and not thread.is_alive() and "error" not in result, result.get("error")
    finished = result["run"]
    rows = dataset.read_manifest(tmp_path)
    assert len(rows) == 34 and finished.done == 32 and finished.failed == 2
    assert any(r["attempt"] >= 1 for r in rows), "no task was resubmitted"
    for row in rows:
        assert row["status"] == "done" or row["error"], row
        if row["status"] == "done":
            assert lamina.load(tmp_path / row["file"]).fields == 1
    assert not list(tmp_path.rglob("*.tmp-*"))


def test_a_worker_that_always_dies_fails_its_shapes_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An executor whose every task comes back "crashed", as a shape that kills its worker.
    class Crashing:
        slots = 1

        def __init__(self) -> None:
            self.queue = []

        def submit(self, task):
            self.queue.append(object())
            return self.queue[-1]

        def collect(self, timeout):
            return [(self.queue.pop(), ("crashed", "a worker process died (test)"))]

        def close(self) -> None:
            pass

    folder = tmp_path / "in"
    folder.mkdir()
    sphere = lamina.shape_mesh({"type": "sphere"}, resolution=12)
    for i in range(3):
        lamina.save_mesh(folder / f"s{i}.obj", *sphere)
    import lamina.dataset.driver as driver

    monkeypatch.setattr(driver, "make_executor", lambda *args: Crashing())
    run = dataset.fit_dataset(folder, tmp_path / "out", TEST_SETTINGS, retries=2, progress=False)
    assert run.failed == 3 and run.done == 0
    for row in run.rows:
        assert row["attempt"] == 2 and "a worker process died (test), 3 times" == row["error"]


def test_export_stacks_every_done_shapes_planes(
    local_run: dataset.DatasetRun, tmp_path: Path
) -> None:
    path = dataset.export_planes(local_run.output, tmp_path / "planes.npy")
    planes = np.load(path)
    index = json.loads((tmp_path / "planes.npy.json").read_text())
    c, r = TEST_SETTINGS.channels, TEST_SETTINGS.resolution
    assert planes.shape == (32, 3, c, r, r) and planes.dtype == np.float32
    rows = {row["shape"]: row for row in dataset.read_manifest(local_run.output)}
    for k, entry in enumerate(index):
        field = lamina.load(local_run.output / rows[entry["shape"]]["file"])
        np.testing.assert_array_equal(planes[k], field.planes["0.planes"])
        assert entry["scale"] == rows[entry["shape"]]["scale"]
    safetensors = pytest.importorskip("safetensors.numpy")
    st = dataset.export_planes(local_run.output, tmp_path / "planes.safetensors")
    np.testing.assert_array_equal(safetensors.load_file(str(st))["planes"], planes)
    from safetensors import safe_open

    with safe_open(str(st), "np") as f:
        assert [e["shape"] for e in json.loads(f.metadata()["shapes"])] == [
            e["shape"] for e in index
        ]
    with pytest.raises(lamina.InvalidArgumentError, match=".npy or .safetensors"):
        dataset.export_planes(local_run.output, tmp_path / "planes.txt")


def test_per_shape_decoders_and_meshes_in_source_coordinates(shapes: Path, tmp_path: Path) -> None:
    files = [str(p) for p in sorted(shapes.glob("*.ply"))[:3]]
    settings = TEST_SETTINGS.replace(decoder="per_shape", meshes=True, mesh_resolution=24)
    run = dataset.fit_dataset(files, tmp_path, settings, executor="inline", progress=False)
    assert run.done == 3
    for row in run.rows:
        fitted, _ = lamina.load_mesh(tmp_path / row["mesh"])
        source, _ = lamina.load_mesh(row["source"])
        size = np.ptp(source, axis=0).max()
        np.testing.assert_allclose(fitted.min(axis=0), source.min(axis=0), atol=0.1 * size)
        np.testing.assert_allclose(fitted.max(axis=0), source.max(axis=0), atol=0.1 * size)


def test_point_clouds_fit_with_and_without_normals(tmp_path: Path) -> None:
    vertices, faces = lamina.shape_mesh({"type": "sphere", "radius": 0.5}, resolution=32)
    points, normals = lamina.sample_surface(vertices, faces, 4000, seed=1, return_normals=True)
    np.save(
        tmp_path / "oriented.npy", np.concatenate([points, normals], axis=1) * [3, 3, 3, 1, 1, 1]
    )
    np.save(tmp_path / "bare.npy", points)
    settings = TEST_SETTINGS.replace(steps=150)
    run = dataset.fit_dataset(
        tmp_path, tmp_path / "out", settings, executor="inline", progress=False
    )
    rows = {r["shape"]: r for r in run.rows}
    assert run.done == 2, rows
    assert rows["oriented"]["metrics"]["chamfer"] < 0.1
    assert set(rows["bare"]["metrics"]) == {"chamfer", "fscore"}


def test_stl_reader_merges_corners_and_reads_ascii(tmp_path: Path) -> None:
    vertices, faces = lamina.shape_mesh({"type": "box"}, resolution=8)
    dataset.write_stl(tmp_path / "b.stl", vertices, faces)
    v, f = dataset.read_stl(tmp_path / "b.stl")
    assert len(v) == len(np.unique(vertices, axis=0)) and len(f) == len(faces)
    corners = vertices[faces.astype(np.int64)].reshape(len(faces), 9)
    assert sorted(map(tuple, v[f].reshape(len(f), 9).tolist())) == sorted(
        map(tuple, corners.tolist())
    )
    lines = ["solid t"]
    for tri in vertices[faces.astype(np.int64)][:5]:
        lines += ["facet normal 0 0 0", "outer loop"] + [f"vertex {a} {b} {c}" for a, b, c in tri]
        lines += ["endloop", "endfacet"]
    (tmp_path / "a.stl").write_text("\n".join(lines + ["endsolid t"]))
    v, f = dataset.read_stl(tmp_path / "a.stl")
    np.testing.assert_allclose(v[f], vertices[faces.astype(np.int64)][:5], rtol=1e-6)
    (tmp_path / "junk.stl").write_text("solid x\nvertex 1 2\n")
    with pytest.raises(lamina.FormatError, match="three coordinates"):
        dataset.read_stl(tmp_path / "junk.stl")


def test_bad_arguments_are_refused_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(lamina.InvalidArgumentError, match="no such file"):
        dataset.fit_dataset([tmp_path / "missing.obj"], tmp_path / "o", progress=False)
    with pytest.raises(lamina.InvalidArgumentError, match="decoder"):
        dataset.FitSettings(decoder="both")
    with pytest.raises(lamina.InvalidArgumentError, match="unknown fit setting"):
        dataset.FitSettings.from_dict({"stepz": 3})
    with pytest.raises(lamina.InvalidArgumentError, match="executor"):
        dataset.fit_dataset(tmp_path, tmp_path / "o2", executor="dask", progress=False)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.obj").write_text("")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.ply").write_text("")
    with pytest.raises(lamina.InvalidArgumentError, match="both named"):
        dataset.find_shapes([tmp_path / "a" / "x.obj", tmp_path / "b" / "x.ply"])


def test_to_source_frame_gives_distances_in_source_units(local_run: dataset.DatasetRun) -> None:
    row = next(r for r in local_run.rows if r["status"] == "done" and r["scale"] < 1)
    field = lamina.load(local_run.output / row["file"])
    moved = dataset.to_source_frame(field, row["center"], row["scale"])
    q = np.random.default_rng(0).uniform(-1, 1, (500, 3)).astype(np.float32)
    source_points = q / row["scale"] + np.asarray(row["center"], dtype=np.float32)
    np.testing.assert_allclose(
        moved.predict(source_points),
        field.predict(q) / row["scale"],
        rtol=1e-3,
        atol=1e-4 / row["scale"],
    )
