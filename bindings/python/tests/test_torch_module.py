"""lamina.torch.Module: a Lamina model inside a PyTorch graph, trained by torch optimisers.

Skipped without torch (an optional extra). What is checked:
- gradients through the module (dL/dx and every parameter's) against central finite
  differences of the module's own forward, and torch.autograd.gradcheck on x at float32
  tolerances;
- a torch nn.Linear before a Lamina KAN, trained by torch.optim.Adam on an mse loss, against
  "the same model trained by Lamina alone": one Lamina sequential model (a dense layer,
  then the same KAN layers) with the same initial weights, trained by lamina.Trainer with
  adam and loss mse on the same full batch. The two share no training code (torch's Adam
  and autograd for the Linear and the loss against Lamina's Adam, loss and dense backward;
  Lamina computes the KAN's gradients in both), so they agree to float32 rounding, which
  the steps carry on. Measured after 40 steps: losses within 3e-6 relative, weights within
  6e-7; the test allows 2e-5 and 5e-6;
- state_dict: the keys are the Lamina names (prefixed by the module's place), saving and
  loading with the rest of a torch state_dict restores the outputs bit for bit and reaches
  the Lamina model on the next forward;
- the version-counter sync: an optimiser step reaches Lamina, sync_from_lamina brings
  changes made by Lamina back, and import lamina does not import torch.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import lamina  # noqa: E402
import lamina.torch  # noqa: E402

ATOL = 2e-4
RTOL = 1e-2

KAN_SPEC = {"kind": "kan", "widths": [3, 4, 2], "grid": 5, "order": 3, "seed": 4}


def test_gradients_match_finite_differences():
    model = lamina.Model.from_spec(KAN_SPEC)
    module = lamina.torch.Module(model)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(16, 3, generator=g) * 1.8 - 0.9).requires_grad_(True)
    w = (torch.rand(16, 2, generator=g) * 2 - 1) / 32  # a mean loss's scale of dL/dy

    (module(x) * w).sum().backward()
    named = dict(module.named_parameters())
    assert sorted(named) == sorted(name for name, _ in lamina.vjp.trainable_tensors(model))

    def objective():
        with torch.no_grad():
            return float((module(x).double() * w.double()).sum())

    strong = 0
    for name, p in [("x", x)] + list(named.items()):
        analytic = p.grad.reshape(-1)
        flat = p.data.reshape(-1)
        entries = range(flat.numel()) if flat.numel() <= 48 else range(0, flat.numel(), 3)
        for e in entries:
            keep = float(flat[e])
            h = 1e-3 * max(1.0, abs(keep))
            with torch.no_grad():
                p.view(-1)[e] = keep + h  # in place: bumps the version, so Lamina is synced
            hi = float(p.detach().view(-1)[e])
            fp = objective()
            with torch.no_grad():
                p.view(-1)[e] = keep - h
            lo = float(p.detach().view(-1)[e])
            fm = objective()
            with torch.no_grad():
                p.view(-1)[e] = keep
            numeric = (fp - fm) / (hi - lo)
            a = float(analytic[e])
            assert abs(a - numeric) <= ATOL + RTOL * max(abs(a), abs(numeric)), (
                f"{name}[{e}]: analytic {a:.7g}, numeric {numeric:.7g}"
            )
            strong += abs(a) > 10 * ATOL
    assert strong >= 5


def test_gradcheck_on_inputs():
    module = lamina.torch.Module(lamina.MLP(3, [8], 2, activation="tanh", seed=1))
    x = (torch.rand(5, 3, generator=torch.Generator().manual_seed(1)) - 0.5).requires_grad_()
    with pytest.warns(UserWarning):  # gradcheck prefers float64; Lamina is float32
        assert torch.autograd.gradcheck(
            lambda t: module(t), (x,), eps=1e-2, atol=2e-3, rtol=2e-2, fast_mode=False
        )


def _seq_spec():
    kan = {"type": "kan", "basis": "bspline", "grid": 5, "order": 3}
    return {
        "kind": "sequential",
        "input": 2,
        "seed": 0,
        "layers": [{"type": "dense", "output": 3}, dict(kan, output=4), dict(kan, output=1)],
    }


def test_torch_linear_then_lamina_kan_matches_lamina_alone():
    torch.manual_seed(0)
    r = np.random.default_rng(0)
    x = r.uniform(-1, 1, (64, 2)).astype(np.float32)
    y = (np.sin(2 * x[:, :1]) * x[:, 1:]).astype(np.float32)

    kan = lamina.Model.from_spec({"kind": "kan", "widths": [3, 4, 1], "grid": 5, "order": 3})
    linear = torch.nn.Linear(2, 3)
    net = torch.nn.Sequential(linear, lamina.torch.Module(kan))

    # The same model in Lamina alone: dense 2 -> 3, then the KAN's layers, same weights.
    alone = lamina.Model.from_spec(_seq_spec())
    weights = {"0.weight": linear.weight.detach().numpy(), "0.bias": linear.bias.detach().numpy()}
    for name, value in kan.state_dict().items():
        layer, rest = name.split(".", 1)
        weights[f"{int(layer) + 1}.{rest}"] = value
    alone.load_state_dict(weights)  # strict: the two models have exactly these tensors
    np.testing.assert_allclose(
        net(torch.from_numpy(x)).detach().numpy(), alone.predict(x), rtol=1e-5, atol=1e-6
    )

    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    trainer = lamina.Trainer(alone, optimizer="adam", learning_rate=0.01, loss="mse")
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    torch_losses, lamina_losses = [], []
    for _ in range(40):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(xt), yt)
        loss.backward()
        opt.step()
        torch_losses.append(loss.item())
        lamina_losses.append(trainer.step(x, y))
    np.testing.assert_allclose(torch_losses, lamina_losses, rtol=2e-5)
    assert torch_losses[-1] < 0.5 * torch_losses[0]  # it trained
    # Weights, and the Lamina model inside the torch module, after the last step.
    net(xt)  # a forward sends the last step's weights to Lamina
    trained = alone.state_dict()
    np.testing.assert_allclose(linear.weight.detach().numpy(), trained["0.weight"], atol=5e-6)
    np.testing.assert_allclose(linear.bias.detach().numpy(), trained["0.bias"], atol=5e-6)
    for name, value in kan.state_dict().items():
        layer, rest = name.split(".", 1)
        np.testing.assert_allclose(value, trained[f"{int(layer) + 1}.{rest}"], atol=5e-6,
                                   err_msg=name)
        np.testing.assert_array_equal(
            value, net[1].state_dict()[name].numpy(), err_msg=f"torch copy of {name}"
        )


def test_state_dict_round_trip():
    kan = lamina.Model.from_spec(KAN_SPEC)
    net = torch.nn.Sequential(torch.nn.Linear(3, 3), lamina.torch.Module(kan))
    keys = list(net.state_dict())
    assert keys[:2] == ["0.weight", "0.bias"]
    assert keys[2:] == ["1." + name for name in kan.tensor_names()]
    x = torch.rand(8, 3)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    net(x).sum().backward()
    opt.step()
    want = net(x).detach()
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)

    other = lamina.Model.from_spec(dict(KAN_SPEC, seed=9))
    net2 = torch.nn.Sequential(torch.nn.Linear(3, 3), lamina.torch.Module(other))
    assert not torch.equal(net2(x), want)
    buffer.seek(0)
    net2.load_state_dict(torch.load(buffer))
    assert torch.equal(net2(x).detach(), want)
    # The loaded weights reached the Lamina model itself.
    for name, value in kan.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[name], value, err_msg=name)


def test_sync_both_ways_and_errors():
    model = lamina.MLP(2, [4], 1, activation="tanh", seed=2)
    module = lamina.torch.Module(model)
    x = torch.rand(6, 2)
    # A change made by Lamina reaches torch with sync_from_lamina.
    lamina.Trainer(model, optimizer="sgd", learning_rate=0.1).step(x.numpy(), np.ones((6, 1)))
    assert not np.array_equal(module.state_dict()["0.weight"].numpy(),
                              model.state_dict()["0.weight"])
    module.sync_from_lamina()
    np.testing.assert_array_equal(module.state_dict()["0.weight"].numpy(),
                                  model.state_dict()["0.weight"])
    # A change through .data bypasses the version counter; sync_to_lamina sends it.
    module.get_parameter("0.weight").data.zero_()
    module.sync_to_lamina()
    assert not model.state_dict()["0.weight"].any()
    with pytest.raises(TypeError, match="float32"):
        module(x.double())
    with pytest.raises(ValueError, match="input features"):
        module(torch.rand(6, 3))
    with pytest.raises(TypeError, match="lamina.Model"):
        lamina.torch.Module(torch.nn.Linear(2, 2))
    # Leading batch axes, and no gradient needed for x.
    y = module(torch.rand(2, 3, 2))
    assert y.shape == (2, 3, 1)
    y.sum().backward()
    assert module.get_parameter("2.bias").grad is not None


def test_import_lamina_does_not_import_torch():
    code = "import sys, lamina; assert 'torch' not in sys.modules, 'torch imported'"
    # The child finds this very package, wherever the suite imported it from.
    package_parent = str(Path(lamina.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
