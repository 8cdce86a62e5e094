"""The C suite's malformed and hostile model and mesh files, loaded through the Python package.

Tests/Data/loader_cases holds every file the load entries of Tests/C/test_abi_bad_calls.c's
bad-call table and Tests/C/test_mesh_abi.c's malformed-file table load, written by those
tables (Tests/Data/loader_cases/regenerate.sh), with manifests naming the status each must
give.
Here each goes through ``lamina.load`` or ``lamina.load_mesh`` and must raise the error
class of exactly that status (FORMAT, IO, UNSUPPORTED, ...) with a message, or load.
Tests/LaminaTests/IO/LoaderCaseTests.swift loads the same files through the Swift API.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, NamedTuple

import numpy as np
import pytest

import lamina
from lamina import errors

from conftest import REPO_ROOT

CASES = REPO_ROOT / "Tests" / "Data" / "loader_cases"

# The status names of the manifests -> the exception lamina raises for each.
RAISES = {
    "LAMINA_E_INVALID_ARGUMENT": lamina.InvalidArgumentError,
    "LAMINA_E_SHAPE": lamina.ShapeError,
    "LAMINA_E_IO": lamina.LaminaIOError,
    "LAMINA_E_FORMAT": lamina.FormatError,
    "LAMINA_E_UNSUPPORTED": lamina.UnsupportedError,
}


class Case(NamedTuple):
    file: str
    status: str
    prefixes: str
    what: str


def manifest(name: str) -> List[Case]:
    rows = []
    for line in (CASES / name).read_text().splitlines():
        if line and not line.startswith("#"):
            rows.append(Case(*line.split("\t")))
    return rows


SAFETENSORS = manifest("safetensors.tsv")
MESHES = manifest("mesh.tsv")


def load(path: Path):
    return lamina.load_mesh(path) if path.suffix in (".obj", ".ply") else lamina.load(path)


def expect(path: Path, status: str) -> None:
    if status == "LAMINA_OK":
        load(path)
        return
    with pytest.raises(errors.LaminaError) as info:
        load(path)
    got = errors.STATUS_NAMES.get(info.value.status, str(info.value.status))
    assert got == status, f"{path.name}: {got} ({info.value.message!r}), want {status}"
    assert type(info.value) is RAISES[status]
    assert info.value.message


def test_the_manifests_hold_the_c_tables() -> None:
    """A short or empty copy would let every test below pass vacuously."""
    names = {c.file for c in SAFETENSORS}
    assert len(SAFETENSORS) >= 55 and len(MESHES) >= 7
    assert "offsets_size.safetensors" in names  # end - begin != count * 4
    assert {c.status for c in SAFETENSORS} == {"LAMINA_OK", "LAMINA_E_FORMAT", "LAMINA_E_IO"}
    assert {c.status for c in MESHES} == {"LAMINA_OK", "LAMINA_E_FORMAT", "LAMINA_E_UNSUPPORTED"}
    for case in SAFETENSORS + MESHES:
        assert (CASES / case.file).exists() != (case.status == "LAMINA_E_IO"), case


@pytest.mark.parametrize("case", SAFETENSORS + MESHES, ids=lambda c: c.file)
def test_each_file_gives_its_status(case: Case) -> None:
    expect(CASES / case.file, case.status)


def test_valid_rebuilds_load_the_same_model() -> None:
    """The corrupted files are corruptions of these: each loads to the same weights."""
    valid = [lamina.load(CASES / c.file) for c in SAFETENSORS if c.status == "LAMINA_OK"]
    assert len(valid) == 4
    x = np.random.default_rng(0).uniform(-1, 1, (16, 3)).astype(np.float32)
    first = valid[0].state_dict()
    for model in valid[1:]:
        assert model.state_dict().keys() == first.keys()
        for name, value in model.state_dict().items():
            assert np.array_equal(value, first[name]), name
        assert np.array_equal(model.predict(x), valid[0].predict(x))


@pytest.mark.parametrize(
    "case", [c for c in SAFETENSORS + MESHES if c.prefixes != "-"], ids=lambda c: c.file
)
def test_every_proper_prefix_gives_its_status(case: Case, tmp_path: Path) -> None:
    data = (CASES / case.file).read_bytes()
    cut = tmp_path / ("cut" + Path(case.file).suffix)
    for length in range(len(data)):
        cut.write_bytes(data[:length])
        expect(cut, case.prefixes)


def test_a_directory_is_an_io_error(tmp_path: Path) -> None:
    for name in ("model.safetensors", "mesh.obj", "mesh.ply"):
        (tmp_path / name).mkdir()
        expect(tmp_path / name, "LAMINA_E_IO")
