"""The spec and trainer keys the documentation lists against the keys the library reads.

include/lamina.h is the reference for every spec and trainer-config key; the README's key
tables and the ``Trainer`` docstring repeat them for readers who never open the header. The
library itself is the ground truth: a model's full spec (``Model.spec``) and a trainer's
full config (``Trainer.config``) name every key it accepts, with defaults filled in. Each
test takes those keys and checks that the header's paragraph for that kind names every one
(as a whole word), that a README table for the kind lists exactly those keys, and that the
docstring names every trainer key, so a key added, renamed or removed in the engine fails
here until every place that documents it agrees.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Dict, List, Set

import pytest

import lamina

from conftest import PACKAGE_ROOT

ROOT = Path(PACKAGE_ROOT).resolve().parents[1]
HEADER = (ROOT / "include" / "lamina.h").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: Keys every model kind shares and the header states once, in the example specs.
COMMON = {"kind"}

BASES = ["bspline", "chebyshev", "fourier", "rbf", "rational", "wavelet", "mixed"]


def spec_keys(spec: Dict) -> Set[str]:
    """The keys of a full spec the library wrote back."""
    return set(lamina.Model(spec).spec) - COMMON


#: The keys of every "kan" spec, whatever its basis.
KAN_SHARED = {"widths", "basis", "seed"}


def basis_keys(basis: str) -> Set[str]:
    """The keys only ``basis`` reads (B-splines with "symbolic", which the spec writes only
    when true, and "sp_trainable" and "sb_trainable", written only when false)."""
    extra = (
        {"symbolic": True, "sp_trainable": False, "sb_trainable": False}
        if basis == "bspline"
        else {}
    )
    return spec_keys({"kind": "kan", "widths": [2, 3], "basis": basis, **extra}) - KAN_SHARED


def trainer_keys() -> Set[str]:
    """Every trainer config key (the full config names all of them, for every optimizer)."""
    model = lamina.Model({"kind": "mlp", "input": 2, "output": 1})
    return set(lamina.Trainer(model).config)


def header_section(start: str, end: str) -> str:
    """The header's text from the first ``start`` to the next ``end`` after it."""
    begin = HEADER.index(start)
    return HEADER[begin : HEADER.index(end, begin + len(start))]


def header_basis_section(basis: str) -> str:
    """The header's paragraph on ``basis`` (from its ``** "name"`` line to the next)."""
    begin = HEADER.index(f'** "{basis}" (')
    following = re.compile(r'^\*\* "\w+" \(|^\*\*$', re.M).search(HEADER, begin + 4)
    assert following is not None
    return HEADER[begin : following.start()]


def missing_words(keys: Set[str], text: str) -> List[str]:
    """The keys that ``text`` does not name as a whole word."""
    return sorted(k for k in keys if not re.search(rf"(?<![\w.]){re.escape(k)}(?!\w)", text))


def readme_table_keys(first_key: str) -> Set[str]:
    """The backticked keys in the first column of the README key table whose first row is
    ``first_key``."""
    rows = README.splitlines()
    start = next(i for i, line in enumerate(rows) if line.startswith(f"| `{first_key}`"))
    keys: Set[str] = set()
    for line in rows[start:]:
        if not line.startswith("|"):
            break
        keys |= set(re.findall(r"`(\w+)`", line.split("|")[1]))
    return keys


def readme_basis_row_keys(basis: str) -> Set[str]:
    """The keys the README's table of the other bases gives for ``basis``."""
    row = next(line for line in README.splitlines() if line.startswith(f"| `{basis}` ("))
    keys_column = row.split("|")[2]
    # Keys are the backticked words outside parentheses: `grid` (5; ...), `bias` (true).
    depth, outside = 0, []
    for ch in keys_column:
        depth += ch == "("
        depth -= ch == ")"
        outside.append(ch if depth == 0 else " ")
    return set(re.findall(r"`(\w+)`", "".join(outside)))


# ---- the header -------------------------------------------------------------------------
def test_header_names_every_mlp_key() -> None:
    keys = spec_keys({"kind": "mlp", "input": 2, "output": 1})
    section = header_section("MLP keys (defaults):", "Activation names:")
    assert missing_words(keys, section) == []


def test_header_names_every_kan_key() -> None:
    section = header_section("KAN keys (defaults):", "Bases, their keys")
    assert missing_words(KAN_SHARED, section) == []


@pytest.mark.parametrize("basis", BASES)
def test_header_names_every_key_of_each_basis(basis: str) -> None:
    assert missing_words(basis_keys(basis), header_basis_section(basis)) == []


def test_header_names_every_triplane_key() -> None:
    keys = spec_keys({"kind": "triplane", "resolution": 4, "channels": 2})
    field = header_section("Tri-plane field keys (defaults):", "Tensors:")
    encoding = header_section("Tri-plane encoding keys:", "Planes tensor shape")
    assert missing_words(keys, field + encoding) == []


def test_header_names_every_sequential_layer_key() -> None:
    spec = lamina.Model(
        {
            "kind": "sequential",
            "input": 3,
            "layers": [{"type": "dense", "output": 2}, {"type": "activation", "name": "relu"}],
        }
    ).spec
    keys = set(spec) - COMMON
    for layer in spec["layers"]:
        keys |= set(layer)
    section = header_section("Sequential keys:", "On success *out owns a new model")
    assert missing_words(keys, section) == []


def test_header_names_every_trainer_key() -> None:
    section = header_section("Keys (defaults):", "*/")
    assert missing_words(trainer_keys(), section) == []


# ---- the README ---------------------------------------------------------------------------
def test_readme_mlp_table_lists_exactly_the_mlp_keys() -> None:
    keys = spec_keys({"kind": "mlp", "input": 2, "output": 1})
    assert readme_table_keys("input") == keys


def test_readme_kan_table_lists_exactly_the_bspline_model_keys() -> None:
    keys = spec_keys(
        {
            "kind": "kan",
            "widths": [2, 3],
            "basis": "bspline",
            "symbolic": True,
            "sp_trainable": False,
            "sb_trainable": False,
        }
    )
    assert readme_table_keys("widths") == keys


@pytest.mark.parametrize("basis", ["chebyshev", "fourier", "rbf", "rational", "wavelet"])
def test_readme_bases_table_lists_exactly_each_basis_keys(basis: str) -> None:
    assert readme_basis_row_keys(basis) == basis_keys(basis)


def test_readme_trainer_table_lists_exactly_the_trainer_keys() -> None:
    assert readme_table_keys("optimizer") == trainer_keys()


# ---- the docstrings -----------------------------------------------------------------------
def test_trainer_docstring_names_every_trainer_key() -> None:
    assert missing_words(trainer_keys(), inspect.getdoc(lamina.Trainer) or "") == []
