"""Reference trajectories of the first optimizer steps, for the trajectory tests.

Each case is a small model, a fixed full batch and a trainer config; the reference is the
loss before each of the first STEPS steps and every tensor after each step, in float64:

- mlp_adam, mlp_adamw, mlp_sgd_momentum: a 3-5-4-2 tanh MLP trained by torch.optim.Adam,
  AdamW and SGD (momentum 0.9), in float64, from the same initial weights.
- triplane_adam: a tri-plane field (resolution 4, 2 channels, "sum", align_corners true,
  padding zeros, as lamina.h documents; decoder 2-6-1 relu) as F.grid_sample on the xy, xz
  and yz planes plus torch Linear layers, trained by torch.optim.Adam in float64.
- kan_adam: a B-spline KAN [2, 3, 1] (grid 3, order 3), which torch cannot express without
  pykan's extra state, so the optimizer is re-implemented here in float64 (torch.optim.Adam's
  update) and fed Lamina's own gradients, evaluated at the reference's weights rounded to
  float32 (read off one SGD step with learning rate 2^19 on a copy: w - lr g, exact to a
  relative 1e-7).

The initial weights are Lamina's (its state_dict for each spec and seed) and are stored, so
the tests write them into the model and test the optimizer, not the initialiser. The first
input column of the MLP is scaled by 1e-3 and the tri-plane's planes start at Lamina's
default std 0.001, so some gradients are ~1e-5 and epsilon matters.

For every case the script also runs mutated optimizers (no bias correction, bias correction
of the first moment only, beta1 0.85, beta2 0.99, epsilon 1e-7 and 1e-6, momentum 0.85,
weight decay as L2) through the same gradients and checks that each one's weights leave the
stored tolerance by a factor of at least 10, so the tests' tolerances can catch them.

Run from the repository root, after `make lib` (torch only here, never in the tests):
    PYTHONPATH=bindings/python LAMINA_LIBRARY=$PWD/build/lib/liblamina.so \\
        /work/main/.venv-bench/bin/python Tests/Reference/optimizer_trajectory_reference.py
It writes Tests/Data/optimizer_trajectories.json (read by the Python and Swift tests) and
Tests/C/optimizer_trajectories.h (the same numbers for Tests/C/test_trajectories.c).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import lamina

ROOT = Path(__file__).resolve().parents[2]
STEPS = 5
# Lamina (float32) against the float64 reference: |w - ref| <= ATOL + RTOL |ref| for every
# tensor after every step, and the loss before each step within LOSS_RTOL.
TOLERANCE = {"weight_atol": 2e-6, "weight_rtol": 2e-6, "loss_rtol": 2e-5}
torch.set_default_dtype(torch.float64)


def rows(seed: int, n: int, d: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, (n, d)).astype(np.float32)


# ---- the optimizers, float64, torch.optim's update rules, with the mutations ------------------
def optimizer_step(kind, params, grads, state, t, lr, beta1=0.9, beta2=0.999, eps=1e-8,
                   weight_decay=0.0, momentum=0.0, bias1=True, bias2=True, decoupled=True):
    for k, p in params.items():
        g = grads[k].copy()
        st = state.setdefault(k, {})
        if kind == "sgd":
            buf = g if "buf" not in st else momentum * st["buf"] + g
            st["buf"] = buf
            p -= lr * buf
            continue
        if kind == "adamw" and decoupled:
            p *= 1 - lr * weight_decay
        elif weight_decay:
            g = g + weight_decay * p
        m = beta1 * st.get("m", 0) + (1 - beta1) * g
        v = beta2 * st.get("v", 0) + (1 - beta2) * g * g
        st["m"], st["v"] = m, v
        bc1 = 1 - beta1**t if bias1 else 1.0
        bc2 = 1 - beta2**t if bias2 else 1.0
        p -= (lr / bc1) * m / (np.sqrt(v) / math.sqrt(bc2) + eps)


MUTANTS = {
    "adam": {
        "no bias correction": dict(bias1=False, bias2=False),
        "first-moment bias correction only": dict(bias2=False),
        "beta1 0.85": dict(beta1=0.85),
        "beta2 0.99": dict(beta2=0.99),
        "epsilon 1e-7": dict(eps=1e-7),
        "epsilon 1e-6": dict(eps=1e-6),
    },
    "sgd": {"momentum 0.85": dict(momentum=0.85)},
}
MUTANTS["adamw"] = {**MUTANTS["adam"], "weight decay as L2 (Adam, not AdamW)": dict(decoupled=False)}


# ---- the models ---------------------------------------------------------------------------------
def mlp_torch(sd):
    """Lamina's 3-5-4-2 tanh MLP as a function of torch float64 tensors."""
    def forward(p, x):
        h = torch.tanh(x @ p["0.weight"].T + p["0.bias"])
        h = torch.tanh(h @ p["2.weight"].T + p["2.bias"])
        return h @ p["4.weight"].T + p["4.bias"]
    return forward


def triplane_torch(resolution, channels):
    def forward(p, x):
        planes = p["0.planes"]
        u, v, w = x[:, 0], x[:, 1], x[:, 2]
        feature = 0
        for k, (a, b) in enumerate([(u, v), (u, w), (v, w)]):
            grid = torch.stack([a, b], dim=-1).view(1, 1, -1, 2)
            f = F.grid_sample(planes[k : k + 1], grid, mode="bilinear", padding_mode="zeros",
                              align_corners=True)
            feature = feature + f.view(channels, -1).T
        h = torch.relu(feature @ p["1.weight"].T + p["1.bias"])
        return h @ p["3.weight"].T + p["3.bias"]
    return forward


def torch_gradients(forward, trained):
    """Loss and gradient function (float64 torch autograd) of MSE for `forward`."""
    def fn(params, x, y):
        tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in trained) for k, v in params.items()}
        loss = F.mse_loss(forward(tp, torch.tensor(x, dtype=torch.float64)),
                          torch.tensor(y, dtype=torch.float64))
        loss.backward()
        grads = {k: (tp[k].grad.numpy().copy() if k in trained else np.zeros_like(v))
                 for k, v in params.items()}
        return float(loss), grads
    return fn


def lamina_gradients(spec):
    """Loss and gradient function of Lamina's own model (float32 weights, float64 result)."""
    lr = 2.0**19

    def fn(params, x, y):
        model = lamina.Model.from_spec(spec)
        model.load_state_dict({k: v.astype(np.float32) for k, v in params.items()})
        w0 = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
        probe = lamina.Trainer(model, optimizer="sgd", learning_rate=lr, batch_size=len(x),
                               shuffle=False)
        loss = probe.step(x, y)
        w1 = model.state_dict()
        return float(loss), {k: (w0[k] - w1[k].astype(np.float64)) / lr for k in w0}
    return fn


def torch_optim_trajectory(forward, init, trained, config, x, y):
    """The reference itself: torch.optim on float64 torch parameters."""
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in trained) for k, v in init.items()}
    params = [tp[k] for k in trained]
    lr = config["learning_rate"]
    kind = config["optimizer"]
    if kind == "adam":
        opt = torch.optim.Adam(params, lr=lr)
    elif kind == "adamw":
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=config["weight_decay"])
    else:
        opt = torch.optim.SGD(params, lr=lr, momentum=config["momentum"])
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    losses, weights = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = F.mse_loss(forward(tp, xt), yt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        weights.append({k: t.detach().numpy().copy() for k, t in tp.items()})
    return losses, weights


def own_trajectory(gradient_fn, init, config, x, y, **mutation):
    """This file's optimizer (optionally mutated) on `gradient_fn`."""
    params = {k: v.astype(np.float64).copy() for k, v in init.items()}
    kind = config["optimizer"]
    hyper = dict(lr=config["learning_rate"], weight_decay=config.get("weight_decay", 0.0),
                 momentum=config.get("momentum", 0.0))
    hyper.update(mutation)
    state, losses, weights = {}, [], []
    for t in range(1, STEPS + 1):
        loss, grads = gradient_fn(params, x, y)
        optimizer_step(kind, params, grads, state, t, **hyper)
        losses.append(loss)
        weights.append({k: v.copy() for k, v in params.items()})
    return losses, weights


def excess(weights, reference):
    """max over steps and tensors of |w - ref| / (ATOL + RTOL |ref|): above 1 fails a test."""
    worst = 0.0
    for got, want in zip(weights, reference):
        for k in want:
            bound = TOLERANCE["weight_atol"] + TOLERANCE["weight_rtol"] * np.abs(want[k])
            worst = max(worst, float((np.abs(got[k] - want[k]) / bound).max()))
    return worst


def lamina_trajectory(spec, init, config, x, y):
    """What the tests do: Lamina's trainer, float32."""
    model = lamina.Model.from_spec(spec)
    model.load_state_dict(init)
    trainer = lamina.Trainer(model, batch_size=len(x), shuffle=False, **config)
    losses, weights = [], []
    for _ in range(STEPS):
        losses.append(trainer.step(x, y))
        weights.append({k: v.astype(np.float64) for k, v in model.state_dict().items()})
    return losses, weights


# ---- the cases ----------------------------------------------------------------------------------
def cases():
    mlp_spec = {"kind": "mlp", "input": 3, "hidden": [5, 4], "output": 2, "activation": "tanh",
                "seed": 3}
    x = rows(1, 16, 3)
    x[:, 0] *= 1e-3  # small inputs: small first-layer gradients, where epsilon matters
    y = rows(2, 16, 2)
    for name, config in [
        ("mlp_adam", {"optimizer": "adam", "learning_rate": 0.01}),
        ("mlp_adamw", {"optimizer": "adamw", "learning_rate": 0.01, "weight_decay": 0.1}),
        ("mlp_sgd_momentum", {"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9}),
    ]:
        yield name, mlp_spec, config, x, y, "torch", mlp_torch(None)

    tri_spec = {"kind": "triplane", "resolution": 4, "channels": 2, "aggregation": "sum",
                "align_corners": True, "padding": "zeros",
                "decoder": {"hidden": [6], "activation": "relu"}, "output": 1, "seed": 4}
    xt = rows(3, 32, 3, -0.95, 0.95)
    yt = (np.sin(2 * xt[:, :1]) * xt[:, 1:2] + 0.3 * xt[:, 2:3]).astype(np.float32)
    yield ("triplane_adam", tri_spec, {"optimizer": "adam", "learning_rate": 0.01}, xt, yt, "torch",
           triplane_torch(4, 2))

    kan_spec = {"kind": "kan", "widths": [2, 3, 1], "grid": 3, "order": 3, "seed": 5}
    xk = rows(4, 24, 2)
    yk = (np.exp(np.sin(np.pi * xk[:, :1]) + xk[:, 1:2] ** 2)).astype(np.float32)
    yield ("kan_adam", kan_spec, {"optimizer": "adam", "learning_rate": 0.01}, xk, yk,
           "numpy Adam (float64) on Lamina's gradients", None)


def main():
    out = {"steps": STEPS, "tolerance": TOLERANCE, "torch": torch.__version__,
           "generated_by": "Tests/Reference/optimizer_trajectory_reference.py", "cases": []}
    for name, spec, config, x, y, reference, forward in cases():
        init = {k: v.copy() for k, v in lamina.Model.from_spec(spec).state_dict().items()}
        trained = [k for k in init if not k.endswith((".grid", ".mask"))]
        if forward is not None:
            losses, weights = torch_optim_trajectory(forward, init, trained, config, x, y)
            gradient_fn = torch_gradients(forward, trained)
            own = own_trajectory(gradient_fn, init, config, x, y)
            assert excess(own[1], weights) < 0.01, f"{name}: this file's optimizer is not torch's"
        else:
            gradient_fn = lamina_gradients(spec)
            losses, weights = own_trajectory(gradient_fn, init, config, x, y)
        got_losses, got = lamina_trajectory(spec, init, config, x, y)
        lamina_excess = excess(got, weights)
        loss_error = max(abs(a - b) / abs(b) for a, b in zip(got_losses, losses))
        print(f"{name}: Lamina within {lamina_excess:.3f} of the tolerance, "
              f"losses within {loss_error / TOLERANCE['loss_rtol']:.3f}")
        margins = {}
        for what, mutation in MUTANTS[config["optimizer"]].items():
            margins[what] = excess(own_trajectory(gradient_fn, init, config, x, y, **mutation)[1],
                                   weights)
            print(f"   {what}: {margins[what]:.1f} x the tolerance")
            assert margins[what] > 10, f"{name}: the tolerance cannot tell '{what}'"
        out["cases"].append({
            "name": name, "reference": reference, "spec": spec, "config": config,
            "x": x.tolist(), "y": y.tolist(),
            "init": {k: v.reshape(-1).tolist() for k, v in init.items()},
            "shapes": {k: list(v.shape) for k, v in init.items()},
            "losses": losses,
            "weights": [{k: v.reshape(-1).tolist() for k, v in w.items()} for w in weights],
            "mutant_margins": margins,
        })
    (ROOT / "Tests/Data/optimizer_trajectories.json").write_text(json.dumps(out, indent=1) + "\n")
    write_c_header(out)


def c_floats(values, per_line=6):
    text = [", ".join(repr(float(v)) for v in values[i : i + per_line])
            for i in range(0, len(values), per_line)]
    return "{\n    " + ",\n    ".join(text) + "}"


def write_c_header(out):
    lines = [
        "/* Generated by Tests/Reference/optimizer_trajectory_reference.py "
        f"(torch {out['torch']}); do not edit.",
        "** The first optimizer steps of small models against float64 references (see the",
        "** script). Weights are every tensor, in the order of `names`, concatenated. */",
        "#ifndef LAMINA_TEST_OPTIMIZER_TRAJECTORIES_H",
        "#define LAMINA_TEST_OPTIMIZER_TRAJECTORIES_H",
        "",
        "#include <stddef.h>",
        "",
        f"#define TRAJ_STEPS {out['steps']}",
        f"#define TRAJ_WEIGHT_ATOL {out['tolerance']['weight_atol']!r}",
        f"#define TRAJ_WEIGHT_RTOL {out['tolerance']['weight_rtol']!r}",
        f"#define TRAJ_LOSS_RTOL {out['tolerance']['loss_rtol']!r}",
        "",
        "typedef struct {",
        "    const char *name, *spec, *config; /* config: without batch_size and shuffle */",
        "    size_t n, input, output, ntensors, nweights;",
        "    const char *const *names;",
        "    const size_t *counts; /* elements of each tensor */",
        "    const double *x, *y, *init;",
        "    const double *losses;  /* before each step */",
        "    const double *weights; /* after each step: TRAJ_STEPS x nweights */",
        "} traj_case;",
        "",
    ]
    table = []
    emitted = {}  # array text -> its name: cases sharing a model and batch share the arrays

    def array(ctype, name, body):
        if body not in emitted:
            emitted[body] = name
            lines.append(f"static const {ctype} {name}[] = {body};")
        return emitted[body]

    for c in out["cases"]:
        n = c["name"]
        names = list(c["init"])
        flat_init = [v for k in names for v in c["init"][k]]
        flat_w = [v for w in c["weights"] for k in names for v in w[k]]
        refs = [
            array("char *const", f"{n}_names", "{" + ", ".join(json.dumps(k) for k in names) + "}"),
            array("size_t", f"{n}_counts", "{" + ", ".join(str(len(c["init"][k])) for k in names) + "}"),
        ]
        for part, values in [("x", [v for r in c["x"] for v in r]), ("y", [v for r in c["y"] for v in r]),
                             ("init", flat_init), ("losses", c["losses"]), ("weights", flat_w)]:
            refs.append(array("double", f"{n}_{part}", c_floats(values)))
        lines.append("")
        table.append(
            f"    {{{json.dumps(n)}, {json.dumps(json.dumps(c['spec']))}, "
            f"{json.dumps(json.dumps(c['config']))}, {len(c['x'])}, {len(c['x'][0])}, "
            f"{len(c['y'][0])}, {len(names)}, {len(flat_init)}, " + ", ".join(refs) + "},")
    lines.append("static const traj_case g_traj_cases[] = {")
    lines += table
    lines += ["};", "", "#endif", ""]
    (ROOT / "Tests/C/optimizer_trajectories.h").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
