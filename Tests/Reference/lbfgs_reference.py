"""Reference values for Tests/LaminaTests/Training/LBFGSTests.swift from torch.optim.LBFGS.

A 2-8-1 tanh MLP (torch.nn.Sequential(Linear, Tanh, Linear), the layout of Lamina's
{"kind": "mlp", "input": 2, "hidden": [8], "output": 1, "activation": "tanh"}) with the
float32 weights torch.manual_seed(0) draws, fitted with MSE on 24 fixed samples: 5 LBFGS
steps on the full batch (max_iter 20, history_size 10), once with line_search_fn=
"strong_wolfe" (lr 1) and once with None (lr 0.5). Recorded: the loss of every closure
call (so the line search's trial points and branch decisions are visible), how many calls
each step made, the loss each step returned, the loss after the last step, the optimizer's
n_iter and func_evals, and the weights after the first and the last step.

Each case also runs in float64 from the same float32 starting point. 100 L-BFGS iterations
on this non-convex problem amplify rounding: float32 and float64 PyTorch agree to about
1e-6 through the first ~30 closure calls and then drift apart by percents. That spread,
printed below, is what any float32 implementation with other summation orders (Lamina's)
can be held to after the first steps.

Run: /work/scratch-act/.venv/bin/python Tests/Reference/lbfgs_reference.py
(PyTorch 2.15.0, CPU, one thread); it prints Swift literals for the test.
"""

import warnings

import torch

torch.set_num_threads(1)
warnings.filterwarnings("ignore")


def make():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    g = torch.Generator().manual_seed(1)
    x = torch.rand(24, 2, generator=g) * 2 - 1
    y = torch.sin(3 * x[:, :1]) * torch.cos(2 * x[:, 1:]) + 0.5 * x[:, :1] * x[:, 1:]
    return net, x, y


CASES = {
    "strong_wolfe": dict(lr=1, max_iter=20, history_size=10, line_search_fn="strong_wolfe"),
    "none": dict(lr=0.5, max_iter=20, history_size=10, line_search_fn=None),
}


def flat(net):
    return [v for p in net.parameters() for v in p.detach().reshape(-1).tolist()]


def run(case, dtype):
    net, x, y = make()
    net = net.to(dtype)
    x, y = x.to(dtype), y.to(dtype)
    opt = torch.optim.LBFGS(net.parameters(), **CASES[case])
    evals = []

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        evals.append(float(loss))
        return loss

    losses, marks, after_first = [], [], None
    for k in range(5):
        losses.append(float(opt.step(closure)))
        marks.append(len(evals))
        if k == 0:
            after_first = flat(net)
    with torch.no_grad():
        final = float(torch.nn.functional.mse_loss(net(x), y))
    state = opt.state[next(iter(net.parameters()))]
    return dict(evals=evals, marks=marks, losses=losses, final=final, n_iter=state["n_iter"],
                func_evals=state["func_evals"], first=after_first, last=flat(net))


def swift(values):
    return "[" + ", ".join(f"{v:.9g}" for v in values) + "]"


def main():
    net, x, y = make()
    print("// initial weights (0.weight, 0.bias, 2.weight, 2.bias, flattened)")
    print(swift(flat(net)))
    print("// x (24 x 2), y (24)")
    print(swift(x.reshape(-1).tolist()))
    print(swift(y.reshape(-1).tolist()))
    for case in CASES:
        a = run(case, torch.float32)
        b = run(case, torch.float64)
        agree = 0
        while agree < min(len(a["evals"]), len(b["evals"])):
            p, q = a["evals"][agree], b["evals"][agree]
            if abs(p - q) > 1e-5 * abs(q):
                break
            agree += 1
        print(f"// ---- {case}: {CASES[case]}")
        print(f"// float32 and float64 closure losses agree to 1e-5 for the first {agree} calls")
        print("evals", swift(a["evals"][:agree]))
        print("marks", a["marks"], "n_iter", a["n_iter"], "func_evals", a["func_evals"])
        print("losses", swift(a["losses"]), "final", f"{a['final']:.9g}")
        print("first", swift(a["first"]))
        print("last", swift(a["last"]))
        print(f"// float64: marks {b['marks']} func_evals {b['func_evals']}")
        print(f"// float64: losses {swift(b['losses'])} final {b['final']:.9g}")
        rel = [abs(p - q) / q for p, q in zip(a["losses"] + [a["final"]], b["losses"] + [b["final"]])]
        print("// float32 vs float64 relative loss difference per step (and final):", swift(rel))
        w1 = max(abs(p - q) for p, q in zip(a["first"], b["first"]))
        w5 = max(abs(p - q) for p, q in zip(a["last"], b["last"]))
        print(f"// float32 vs float64 weights: after step 1 {w1:.3g}, after step 5 {w5:.3g}")


if __name__ == "__main__":
    main()
