"""Progress callbacks that raise, and calls that overlap a training call (issue 6).

"A progress callback that cancels, or is called from Python with an exception raised, leaves
everything consistent": the exception stops training at that report and is re-raised, and
the weights are those of the last completed step -- the very weights the callback saw.
test_training.py covers an MLP with Adam; here: a tri-plane field's fit_sdf (per epoch and,
with progress_every, per step) and L-BFGS. The callback reads the model it trains (allowed:
lamina.h lets a progress callback make READ-ONLY calls on it) to record those weights.

And lamina.h's thread-safety rule, checked by the library: while one thread trains a model,
a call on that model from another thread raises InvalidArgumentError ("in use by another
call") instead of racing, and everything works once training returns.
"""

import threading

import numpy as np
import pytest

import lamina


class Stop(Exception):
    """Raised by the callbacks below."""


def _sphere_samples(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    points = rng.uniform(-1, 1, size=(n, 3)).astype(np.float32)
    sdf = (np.linalg.norm(points, axis=1) - 0.5).astype(np.float32)
    return points, sdf


def _raise_after(reports: int, model, seen: dict):
    """A callback that records the model's weights and predictions at every report and
    raises at report number `reports`."""
    probe = np.linspace(-0.9, 0.9, 30, dtype=np.float32).reshape(-1, model.input_dim)

    def callback(progress):
        seen["count"] = seen.get("count", 0) + 1
        seen["state"] = model.state_dict()
        seen["predict"] = model.predict(probe)
        seen["probe"] = probe
        if seen["count"] == reports:
            raise Stop(f"stop at report {reports}")

    return callback


def _assert_as_seen(model, seen: dict, initial: dict):
    state = model.state_dict()
    assert state.keys() == seen["state"].keys()
    for name, value in state.items():
        np.testing.assert_array_equal(value, seen["state"][name], err_msg=name)
    np.testing.assert_array_equal(model.predict(seen["probe"]), seen["predict"])
    # and training did happen before the interrupt
    assert any(not np.array_equal(state[k], initial[k]) for k in state)


@pytest.mark.parametrize("progress_every", [0, 1])
def test_field_fit_sdf_exception_keeps_last_completed_step(tmp_path, progress_every):
    points, sdf = _sphere_samples(512)
    field = lamina.TriplaneField(resolution=8, channels=4, decoder={"hidden": [16]}, seed=3)
    initial = field.state_dict()
    seen: dict = {}
    config = {"progress_every": progress_every} if progress_every else {}
    with pytest.raises(Stop):
        field.fit_sdf(points, sdf, steps=40, batch_size=64, progress=_raise_after(3, field, seen),
                      **config)
    assert seen["count"] == 3  # no report after the one that raised
    _assert_as_seen(field, seen, initial)
    # still usable: trains, saves, loads
    field.fit_sdf(points, sdf, steps=8, batch_size=64, progress=False)
    path = tmp_path / "field.safetensors"
    field.save(path)
    again = lamina.load(path)
    np.testing.assert_array_equal(again.predict(points[:16]), field.predict(points[:16]))


def test_lbfgs_exception_keeps_last_completed_step():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(64, 2)).astype(np.float32)
    y = (np.sin(2 * x[:, :1]) * x[:, 1:]).astype(np.float32)
    model = lamina.MLP(2, [8], 1, activation="tanh", seed=2)
    initial = model.state_dict()
    seen: dict = {}
    with pytest.raises(Stop):
        model.fit(x, y, epochs=20, batch_size=64, optimizer="lbfgs", max_iter=5,
                  progress=_raise_after(2, model, seen))
    assert seen["count"] == 2
    _assert_as_seen(model, seen, initial)
    history = model.fit(x, y, epochs=2, batch_size=64, optimizer="lbfgs", progress=False)
    assert len(history) == 2 and np.isfinite(history[-1])


def test_calls_from_another_thread_during_training_are_refused(tmp_path):
    x, sdf = _sphere_samples(256, seed=4)
    y = sdf.reshape(-1, 1)
    model = lamina.MLP(3, [16], 1, seed=5)
    inside = threading.Event()
    tried = threading.Event()
    errors = []

    def park(progress):
        if not inside.is_set():
            inside.set()
            tried.wait(30)

    def train():
        try:
            model.fit(x, y, epochs=2, batch_size=64, progress=park)
        except BaseException as exc:  # reported below
            errors.append(exc)

    worker = threading.Thread(target=train)
    worker.start()
    try:
        assert inside.wait(30)
        overlap = "in use by another call on another thread"
        with pytest.raises(lamina.InvalidArgumentError, match=overlap):
            model.predict(x[:4])
        with pytest.raises(lamina.InvalidArgumentError, match=overlap):
            model.state_dict()
        with pytest.raises(lamina.InvalidArgumentError, match=overlap):
            model.save(tmp_path / "m.safetensors")
        with pytest.raises(lamina.InvalidArgumentError, match="EXCLUSIVE calls must not overlap"):
            model.fit(x, y, epochs=1, progress=False)
    finally:
        tried.set()
        worker.join(60)
    assert not worker.is_alive()
    assert not errors, errors
    # everything works again
    assert np.isfinite(model.predict(x[:4])).all()
    model.save(tmp_path / "m.safetensors")
    assert len(model.fit(x, y, epochs=1, progress=False)) == 1
