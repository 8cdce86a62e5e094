"""pykan reference for bindings/python/tests/test_kan.py::test_matches_pykan_forward_with_the_same_weights.

Builds pykan's KAN(width=[2, 5, 1], grid=5, k=3, seed=1) (CPU, float32), stores its B-spline
tensors (act_fun.*: grid, coef, mask, scale_base, scale_sp; node and subnode scales are
identity and the symbolic branch is masked off at this point, as in pykan's tutorials) and
its forward output on 200 fixed points in [-2.5, 2.5]^2, which reach outside the grid
[-1, 1] where only the SiLU branch remains. The test loads the tensors into lamina.KAN and
compares its predictions with pykan's, and compares the spread of Lamina's own initial
coefficients with pykan's (noise_scale 0.3 / G, fitted).

Run from the repository root (torch and pykan only here, never in the tests):
    /work/main/.venv-bench/bin/python Tests/Reference/pykan_forward_reference.py
It writes bindings/python/tests/data/pykan_forward.json.
"""

import importlib.metadata
import json
import os
import tempfile
from pathlib import Path

import kan
import numpy as np
import torch

OUT = Path(__file__).resolve().parents[2] / "bindings/python/tests/data/pykan_forward.json"


def main():
    os.chdir(tempfile.mkdtemp())  # pykan may write its model folder into the working directory
    torch.set_default_dtype(torch.float32)
    reference = kan.KAN(width=[2, 5, 1], grid=5, k=3, seed=1, auto_save=False)
    for name, tensor in reference.state_dict().items():
        if name.startswith(("node_", "subnode_")):
            want = 1.0 if "scale" in name else 0.0
            assert torch.all(tensor == want), f"{name} is not the identity"
        if name.startswith("symbolic_fun.") and name.endswith(".mask"):
            assert not tensor.any(), "the symbolic branch is not masked off"
    state = {
        name.replace("act_fun.", ""): tensor.detach().numpy()
        for name, tensor in reference.state_dict().items()
        if name.startswith("act_fun.")
    }
    x = np.random.default_rng(0).uniform(-2.5, 2.5, (200, 2)).astype(np.float32)
    with torch.no_grad():
        y = reference(torch.from_numpy(x)).numpy()
    out = {
        "generated_by": "Tests/Reference/pykan_forward_reference.py",
        "pykan": importlib.metadata.version("pykan"),
        "torch": torch.__version__,
        "model": {"width": [2, 5, 1], "grid": 5, "k": 3, "seed": 1},
        "state": {k: {"shape": list(v.shape), "values": v.reshape(-1).tolist()} for k, v in state.items()},
        "x": x.tolist(),
        "y": y.reshape(-1).tolist(),
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(out) + "\n")
    print(f"wrote {OUT}: {len(state)} tensors, {len(x)} points")


if __name__ == "__main__":
    main()
