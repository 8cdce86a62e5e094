#!/usr/bin/env python3
"""Atheris fuzzing of the Python binding over the same entry points as the C harnesses.

    python Tests/Fuzz/fuzz_python.py --target spec|config|safetensors|mesh|shape [atheris args]

e.g. ``-max_total_time=60 build/fuzz/corpus/model_spec``. Not part of CI or ``make test``.
Needs ``pip install atheris numpy`` and ``LAMINA_LIBRARY`` pointing at a liblamina.so (the
plain ``make lib`` build: atheris instruments the Python side; the native side is covered by
the libFuzzer targets). Any :class:`lamina.LaminaError` is an accepted answer to bad input,
except :class:`lamina.InternalError`; every other exception, or a crash, is a finding.
"""

import json
import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    import numpy as np

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python"))
    import lamina

_SCRATCH = tempfile.mkdtemp(prefix="lamina-atheris-")
_MODELS = [
    '{"kind": "mlp", "input": 2, "hidden": [4], "output": 1, "seed": 1}',
    '{"kind": "kan", "widths": [2, 3, 1], "grid": 3}',
]
_POINTS = np.array([[0, 0, 0], [0.3, -0.7, 0.1], [5, 5, -5]], dtype=np.float32)


def _allowed(error: BaseException) -> bool:
    return isinstance(error, lamina.LaminaError) and not isinstance(error, lamina.InternalError)


def _spec(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    model = lamina.Model.from_spec(text)
    if model.parameter_count <= 200_000 and model.input_dim <= 4096:
        model.predict(np.zeros((2, model.input_dim), dtype=np.float32))
        json.dumps(model.spec)


def _config(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    model = lamina.Model.from_spec(_MODELS[fdp.ConsumeIntInRange(0, len(_MODELS) - 1)])
    try:
        config = json.loads(fdp.ConsumeUnicodeNoSurrogates(len(data)))
    except (ValueError, RecursionError):
        return
    if not isinstance(config, dict):
        return
    trainer = lamina.Trainer(model, **config)
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(8, 2)
    trainer.step(x, np.ones((8, 1), dtype=np.float32))


def _file(data: bytes, suffix: str) -> str:
    path = os.path.join(_SCRATCH, "input" + suffix)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _safetensors(data: bytes) -> None:
    model = lamina.load(_file(data, ".safetensors"))
    model.predict(np.zeros((1, model.input_dim), dtype=np.float32))


def _mesh(data: bytes) -> None:
    if not data:
        return
    vertices, faces = lamina.load_mesh(_file(data[1:], ".ply" if data[0] & 1 else ".obj"))
    assert vertices.ndim == 2 and faces.ndim == 2


def _shape(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    sdf = lamina.shape_sdf(text, _POINTS)
    assert np.all(np.isfinite(sdf)), sdf


TARGETS = {"spec": _spec, "config": _config, "safetensors": _safetensors, "mesh": _mesh,
           "shape": _shape}


def main() -> None:
    argv = list(sys.argv)
    if "--target" not in argv:
        sys.exit(__doc__)
    i = argv.index("--target")
    target = TARGETS[argv[i + 1]]
    del argv[i:i + 2]

    def test_one_input(data: bytes) -> None:
        try:
            target(data)
        except Exception as error:  # noqa: BLE001 -- deciding what is allowed is the point
            if not _allowed(error):
                raise

    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
