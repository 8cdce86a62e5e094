"""Reference values for LBFGSTests.testLineSearchBranchesMatchTorch: PyTorch's
torch.optim.lbfgs._strong_wolfe on one float32 parameter w and

    phi(w) = a sin(b w + c) + q (w - m)^2,

searching along d = -phi'(w0) from w0 with first trial t0 and budget max_ls. Each case was
picked (from random draws, by instrumenting a copy of _strong_wolfe) to exercise one branch
of the search, and only where float32 and float64 runs make the same trials to 1e-5, so the
case is robust to last-digit differences:

  zoom         Armijo fails at t0; zoom ends on the strong Wolfe conditions
  extrapolate  descent continues at t0: extrapolation clamped to its lower bound 1.01 t0
  slope        an upward slope at t0 brackets [0, t0]
  insufficient an interpolant within 10% of the bracket's end is kept once (insuf_progress)
  moved        ... and moved 10% inside the bracket the second time
  swap         the old low end becomes the high end (gtd_new (high - low) >= 0)
  budget       extrapolation runs out of evaluations (ls_iter == max_ls)

Printed: the parameter value at each trial, the step length returned, its loss, and the
number of evaluations. Run: /work/scratch-act/.venv/bin/python
Tests/Reference/lbfgs_line_search_reference.py (PyTorch 2.15.0).
"""

import warnings

import torch
from torch.optim.lbfgs import _strong_wolfe

warnings.filterwarnings("ignore")

CASES = {
    "zoom": ((1.7199593327450866, 4.668749216171664, -0.47657051501493, 0.2663275827900337,
              0.0676483282116509), -0.5703951752975143, 2.245927677177968, 25),
    "extrapolate": ((1.289907506398452, 1.5702502562528253, 2.8241514795260994,
                     0.7209321931947484, -0.12459807646677623), 1.3629313767290085,
                    0.015249467811112279, 25),
    "slope": ((0.7448071891494428, 5.095578546128153, -1.2046469711636778, 0.11756490110163631,
               0.3649799335892894), -0.11296621826270314, 0.10262227392558489, 25),
    "insufficient": ((0.39630412267598664, 3.5319698534980315, 1.239368459201338,
                      0.5519665022151395, 1.8868011797480158), 0.24170164182194398,
                     7.789608625946786, 25),
    "moved": ((1.2329704594847886, 4.232142462341475, 1.8306599341928225, 0.7602679184387687,
               2.9431953762333736), 1.4817923349007964, 5.216055095483237, 25),
    "swap": ((1.6190121535462567, 3.627315157948491, -0.34866678152168484, 0.34793269746073663,
              -2.944093557509409), 1.3297484582846995, 5.366833078805082, 25),
    "budget": ((1.0454334019556493, 2.5332100702248543, -0.4875556908001135, 0.9143578087534933,
                0.8778290199819816), -1.9804366374018774, 0.01293546192283234, 3),
}


def phi(w, a, b, c, q, m):
    return (a * torch.sin(b * w + c) + q * (w - m) ** 2).sum()


def search(params, w0, t0, max_ls):
    w = torch.tensor([w0], dtype=torch.float32, requires_grad=True)
    trials = []

    def obj(x, t, d):  # as LBFGS._directional_evaluate
        with torch.no_grad():
            w.add_(d, alpha=t)
        w.grad = None
        with torch.enable_grad():
            f = phi(w, *params)
            f.backward()
        trials.append(float(w))
        with torch.no_grad():
            w.copy_(x[0])
        return float(f), w.grad.clone()

    with torch.enable_grad():
        f0 = phi(w, *params)
        f0.backward()
    g = w.grad.clone()
    d = -g
    x = [w.detach().clone()]
    f, _, t, n = _strong_wolfe(obj, x, t0, d, float(f0), g, g.dot(d), max_ls=max_ls)
    return float(w), trials, float(t), f, n


def main():
    for name, (params, w0, t0, max_ls) in CASES.items():
        start, trials, t, f, n = search(params, w0, t0, max_ls)
        p = ", ".join(f"{v!r}" for v in params)
        print(f'("{name}", [{p}], {start:.9g}, {t0!r}, {max_ls},')
        print("  [" + ", ".join(f"{v:.9g}" for v in trials) + f"], {t:.9g}, {f:.9g}, {n}),")


if __name__ == "__main__":
    main()
