"""B-spline KAN keys "sp_trainable" / "sb_trainable" (pykan's KAN(sp_trainable=False, ...)):
false makes "l.scale_sp" / "l.scale_base" buffers that training never changes."""

from __future__ import annotations

import numpy as np

import lamina
from lamina.vjp import trainable_tensors


def test_frozen_scales_are_buffers_and_training_leaves_them() -> None:
    spec = {"kind": "kan", "widths": [2, 3, 1], "seed": 2}
    plain = lamina.Model(spec)
    model = lamina.Model(dict(spec, sp_trainable=False, sb_trainable=False))
    assert model.spec["sp_trainable"] is False and model.spec["sb_trainable"] is False
    assert "sp_trainable" not in plain.spec and "sb_trainable" not in plain.spec
    assert model.parameter_count == plain.parameter_count - 2 * (2 * 3 + 3 * 1)
    trained = {name for name, _ in trainable_tensors(model)}
    assert trained == {"0.coef", "1.coef"}
    before = model.state_dict()
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 2)).astype(np.float32)
    y = (np.sin(2 * x[:, :1]) + x[:, 1:] ** 2).astype(np.float32)
    model.fit(x, y, optimizer="lbfgs", batch_size=64, epochs=2, progress=False)
    model.fit(x, y, epochs=2, learning_rate=1e-2, progress=False)
    after = model.state_dict()
    for name in ["0.scale_sp", "0.scale_base", "1.scale_sp", "1.scale_base"]:
        assert np.array_equal(after[name], before[name]), name
    for name in ["0.coef", "1.coef"]:
        assert not np.array_equal(after[name], before[name]), name
