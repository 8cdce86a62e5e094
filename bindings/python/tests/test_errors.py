"""Every lamina_status maps to its exception class; realistic bad calls raise them."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import lamina
from lamina import _library
from lamina.errors import STATUS_NAMES, error_from_status

CLASSES = {
    1: lamina.InvalidArgumentError,
    2: lamina.ShapeError,
    3: lamina.LaminaIOError,
    4: lamina.FormatError,
    5: lamina.NumericError,
    6: lamina.OutOfMemoryError,
    7: lamina.UnsupportedError,
    8: lamina.CancelledError,
    9: lamina.InternalError,
}


# ---- the mapping ---------------------------------------------------------------------------
@pytest.mark.parametrize("status", sorted(CLASSES))
def test_status_maps_to_class(status):
    error = error_from_status(status, "the message")
    assert type(error) is CLASSES[status]
    assert isinstance(error, lamina.LaminaError)
    assert error.status == status and isinstance(error.status, int)
    assert str(error) == "the message" == error.message
    assert error.status_name == STATUS_NAMES[status]
    assert isinstance(error, ValueError) == (status in (1, 2))
    assert isinstance(error, OSError) == (status == 3)


def test_unknown_status_is_still_a_lamina_error():
    error = error_from_status(42, "odd")
    assert type(error) is lamina.LaminaError and error.status == 42


def test_status_names_match_the_library():
    lib = _library.lib()
    for status, name in STATUS_NAMES.items():
        assert lib.lamina_status_string(status).decode() == name


def test_library_message_is_carried():
    with pytest.raises(lamina.InvalidArgumentError) as info:
        lamina.Model.from_spec("{")
    assert info.value.message and str(info.value) == info.value.message
    assert info.value.status == 1


# ---- realistic calls -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "{",
        "not json at all",
        '{"kind": "mlp", "input": 2, "output": 1,}',
        '{"kind": "mlp", "input": 2, "hidden": [4,], "output": 1}',
        "[]",
        "",
        '{"kind": "mlp", "input": 2, "output": 1} trailing',
    ],
)
def test_bad_json_spec(text):
    with pytest.raises(lamina.InvalidArgumentError) as info:
        lamina.Model.from_spec(text)
    assert info.value.message


def test_unknown_spec_key_is_named():
    with pytest.raises(lamina.InvalidArgumentError, match="hiden"):
        lamina.Model.from_spec({"kind": "mlp", "input": 2, "hiden": [4], "output": 1})
    with pytest.raises(lamina.InvalidArgumentError, match="bogus_key"):
        lamina.MLP(2, [4], 1, bogus_key=3)


def test_bad_spec_values_are_named():
    with pytest.raises(lamina.InvalidArgumentError, match="nope"):
        lamina.MLP(2, [4], 1, activation="nope")
    with pytest.raises(lamina.InvalidArgumentError, match="input"):
        lamina.Model.from_spec({"kind": "mlp", "output": 1})
    with pytest.raises(lamina.InvalidArgumentError, match="transformer"):
        lamina.Model.from_spec({"kind": "transformer", "input": 2, "output": 1})
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.MLP(0, [4], 1)
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.Model.from_spec({"kind": "mlp", "input": "two", "output": 1})
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.MLP(2, [4], 1, init="magic")
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.MLP(2, [4, 4], 1, activation=["tanh", "relu", "relu"])  # one per hidden layer
    with pytest.raises(lamina.InvalidArgumentError, match="negative_slope"):
        lamina.MLP(2, [4], 1, activation={"name": "relu", "negative_slope": 0.1})


def test_sizes_beyond_limits():
    # The header lists both codes for limits on specs (see the report).
    with pytest.raises((lamina.InvalidArgumentError, lamina.OutOfMemoryError)):
        lamina.MLP(2, [70000], 1)
    with pytest.raises((lamina.InvalidArgumentError, lamina.OutOfMemoryError)):
        lamina.MLP(2, [60000, 60000], 1)


def test_bad_trainer_config_is_named(small_model):
    with pytest.raises(lamina.InvalidArgumentError, match="bogus_option"):
        lamina.Trainer(small_model, bogus_option=1)
    with pytest.raises(lamina.InvalidArgumentError, match="adagrad"):
        lamina.Trainer(small_model, optimizer="adagrad")
    with pytest.raises(lamina.InvalidArgumentError, match="hinge"):
        lamina.Trainer(small_model, loss="hinge")
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.Trainer(small_model, batch_size=0)
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.Trainer(small_model, validation_split=1.5)
    with pytest.raises(lamina.InvalidArgumentError):
        lamina.Trainer(small_model, learning_rate="fast")
    with pytest.raises(lamina.InvalidArgumentError, match="epoch"):
        small_model.fit(np.zeros((4, 3)), np.zeros((4, 2)), epoch=3, progress=False)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_a_numeric_error(small_model, bad):
    x = np.zeros((4, 3), np.float32)
    x[2, 1] = bad
    with pytest.raises(lamina.NumericError) as info:
        small_model.predict(x)
    assert info.value.status == 5 and info.value.message
    with pytest.raises(lamina.NumericError):
        small_model.gradient(x)


def test_non_finite_training_data_leaves_weights(small_model):
    trainer = lamina.Trainer(small_model)
    before = small_model.state_dict()
    x = np.zeros((4, 3), np.float32)
    y = np.zeros((4, 2), np.float32)
    y[0, 0] = np.nan
    with pytest.raises(lamina.NumericError):
        trainer.step(x, y)
    with pytest.raises(lamina.NumericError):
        trainer.evaluate(x, y)
    with pytest.raises(lamina.NumericError):
        trainer.fit(x, y, progress=False)
    after = small_model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_training_needs_at_least_one_sample(small_model):
    trainer = lamina.Trainer(small_model)
    x, y = np.zeros((0, 3), np.float32), np.zeros((0, 2), np.float32)
    with pytest.raises(lamina.InvalidArgumentError):
        trainer.step(x, y)
    with pytest.raises(lamina.InvalidArgumentError):
        trainer.evaluate(x, y)
    with pytest.raises(lamina.InvalidArgumentError):
        trainer.fit(x, y, progress=False)


def test_trainer_keeps_its_own_reference_to_the_model():
    """lamina_model_free: 'A trainer made from it keeps its own reference.'"""
    lib = _library.lib()
    model = lamina.MLP(2, [4], 1)
    trainer = lamina.Trainer(model)
    model.close()  # lamina_model_free on the model handle
    x = np.ones((4, 2), np.float32)
    y = np.zeros((4, 1), np.float32)
    loss = ctypes.c_float()
    status = lib.lamina_trainer_step(
        trainer._ptr,
        _library.as_float_pointer(x),
        _library.as_float_pointer(y),
        4,
        ctypes.byref(loss),
    )
    _library.check(status)
    assert np.isfinite(loss.value)
    trainer.close()


def test_missing_file_is_an_io_error(tmp_path):
    path = tmp_path / "does-not-exist.safetensors"
    with pytest.raises(lamina.LaminaIOError) as info:
        lamina.load(path)
    assert isinstance(info.value, OSError)
    assert info.value.status == 3 and info.value.message


def test_unwritable_path_is_an_io_error(tmp_path, small_model):
    with pytest.raises(lamina.LaminaIOError):
        small_model.save(tmp_path / "no" / "such" / "dir" / "m.safetensors")


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a safetensors file at all, just some text",
        b"",
        b"\x08\x00\x00\x00\x00\x00\x00\x00{}",
        b"\xff\xff\xff\xff\xff\xff\xff\x7f{}",  # absurd header length
        (20).to_bytes(8, "little") + b'{"a": "b"          ',
    ],
    ids=["text", "empty", "short-header", "huge-header-length", "not-a-tensor-map"],
)
def test_garbage_file_is_a_format_error(tmp_path, content):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(lamina.FormatError) as info:
        lamina.load(path)
    assert info.value.status == 4 and info.value.message


def test_truncated_file_is_a_format_error(tmp_path, small_model):
    path = tmp_path / "m.safetensors"
    small_model.save(path)
    data = path.read_bytes()
    for cut in (7, 9, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(lamina.FormatError):
            lamina.load(path)


def test_safetensors_without_spec_is_a_format_error(tmp_path, small_model):
    from safetensors.numpy import save_file

    path = tmp_path / "plain.safetensors"
    save_file(small_model.state_dict(), str(path))
    with pytest.raises(lamina.FormatError):
        lamina.load(path)


def test_tampered_tensor_is_rejected(tmp_path, small_model):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    path = tmp_path / "m.safetensors"
    small_model.save(path)
    with safe_open(str(path), framework="np") as f:
        metadata = f.metadata()
    state = small_model.state_dict()
    state["2.weight"] = state["2.weight"].T.copy()  # wrong shape for the spec
    save_file(state, str(path), metadata=metadata)
    with pytest.raises(lamina.FormatError):
        lamina.load(path)
    state = small_model.state_dict()
    state["0.bias"][1] = np.nan
    save_file(state, str(path), metadata=metadata)
    with pytest.raises(lamina.FormatError):  # the header lists no LAMINA_E_NUMERIC for load
        lamina.load(path)


# ---- raw calls, for codes the Python layer would otherwise catch first -----------------------
def test_tensor_count_mismatch_is_a_shape_error(small_model):
    lib = _library.lib()
    out = (ctypes.c_float * 3)()
    status = lib.lamina_model_tensor_read(small_model._ptr, b"0.weight", out, 3)
    with pytest.raises(lamina.ShapeError) as info:
        _library.check(status)
    assert info.value.message
    status = lib.lamina_model_tensor_write(small_model._ptr, b"0.weight", out, 3)
    with pytest.raises(lamina.ShapeError):
        _library.check(status)


def test_unknown_tensor_name(small_model):
    lib = _library.lib()
    out = (ctypes.c_float * 15)()
    status = lib.lamina_model_tensor_read(small_model._ptr, b"9.weight", out, 15)
    with pytest.raises(lamina.InvalidArgumentError, match=r"9\.weight"):
        _library.check(status)


def test_two_call_pattern_buffer_too_small(small_model):
    lib = _library.lib()
    length = ctypes.c_size_t(0)
    assert lib.lamina_model_spec(small_model._ptr, None, 0, ctypes.byref(length)) == 0
    full = length.value
    assert full > 10
    buf = ctypes.create_string_buffer(5)
    length = ctypes.c_size_t(0)
    status = lib.lamina_model_spec(small_model._ptr, buf, 5, ctypes.byref(length))
    assert status == 1
    assert length.value == full
    buf = ctypes.create_string_buffer(full + 1)
    assert lib.lamina_model_spec(small_model._ptr, buf, full + 1, ctypes.byref(length)) == 0
    assert len(buf.value) == full


def test_null_arguments_are_invalid(small_model):
    lib = _library.lib()
    assert lib.lamina_model_create(None, ctypes.byref(ctypes.c_void_p())) == 1
    assert lib.lamina_model_create(b'{"kind": "mlp", "input": 1, "output": 1}', None) == 1
    assert lib.lamina_model_predict(None, None, 1, None) == 1
    assert lib.lamina_model_predict(small_model._ptr, None, 1, None) == 1
    assert lib.lamina_model_input_dim(None) == 0
    lib.lamina_model_free(None)
    lib.lamina_trainer_free(None)


def test_cancel_from_a_c_callback_is_a_cancelled_error(small_model):
    lib = _library.lib()
    trainer = lamina.Trainer(small_model, epochs=5, batch_size=4)
    calls = []

    @_library.PROGRESS_FN
    def stop(progress, user_data):
        calls.append(progress.contents.epoch)
        return 1

    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    y = np.zeros((8, 2), np.float32)
    status = lib.lamina_trainer_fit(
        trainer._ptr,
        _library.as_float_pointer(x),
        _library.as_float_pointer(y),
        8,
        stop,
        None,
        None,
    )
    with pytest.raises(lamina.CancelledError) as info:
        _library.check(status)
    assert info.value.status == 8
    assert calls == [1]
    assert np.isfinite(small_model.predict(x)).all()


def test_huge_batch_is_out_of_memory_not_a_crash(tmp_path):
    """n far beyond LAMINA_MAX_BATCH_ELEMENTS must be refused before memory is touched."""
    script = textwrap.dedent(
        """
        import ctypes, numpy as np, lamina
        from lamina import _library
        m = lamina.MLP(2, [64], 1)
        lib = _library.lib()
        x = np.zeros((4, 2), np.float32)
        y = np.zeros((4, 1), np.float32)
        status = lib.lamina_model_predict(m._ptr, _library.as_float_pointer(x), 1 << 40,
                                          _library.as_float_pointer(y))
        print(status)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    assert result.returncode == 0, f"process died ({result.returncode}): {result.stderr[-2000:]}"
    assert result.stdout.strip() == "6", result.stdout + result.stderr


def test_messages_are_per_thread():
    """lamina_last_error is thread-local: concurrent failures keep their own messages."""
    errors = {"a": [], "b": []}

    def bad_json():
        for _ in range(200):
            try:
                lamina.Model.from_spec("{")
            except lamina.LaminaError as e:
                errors["a"].append((type(e), e.message))

    def bad_key():
        for _ in range(200):
            try:
                lamina.MLP(2, [3], 1, zzz_unknown=1)
            except lamina.LaminaError as e:
                errors["b"].append((type(e), e.message))

    threads = [threading.Thread(target=bad_json), threading.Thread(target=bad_key)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors["a"]) == len(errors["b"]) == 200
    assert all("zzz_unknown" not in m for _, m in errors["a"])
    assert all("zzz_unknown" in m for _, m in errors["b"])
