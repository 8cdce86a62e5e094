"""The pykan model the KAN reference scripts share: a MultKAN (grid 5, k 3) whose tensors
are overwritten from a fixed formula, so that Swift, C and Python can rebuild the same model
without reading torch's random generator, with edge (layer 0, i 1, j 2) masked; and the 16
fixed samples it runs on. Imported by kan_prune_reference.py, kan_reg_reference.py and
kan_reg_metrics_reference.py (run from any directory: Python puts the script's folder on
the path)."""
import math
import os
import tempfile

import torch
from kan import KAN


def fill(t, phase):
    """The fixed formula's values in the shape of `t`."""
    flat = torch.tensor(
        [0.8 * math.sin(1.3 * q + phase) + 0.1 * math.cos(0.7 * q) for q in range(t.numel())],
        dtype=torch.float32)
    return flat.reshape(t.shape)


def fixed_model(width):
    """The model of `width`, built in a scratch directory (pykan writes files)."""
    os.chdir(tempfile.mkdtemp())
    torch.set_default_dtype(torch.float32)
    model = KAN(width=width, grid=5, k=3, seed=0, auto_save=False, symbolic_enabled=False)
    with torch.no_grad():
        for l, layer in enumerate(model.act_fun):
            layer.coef.copy_(fill(layer.coef, 0.3 + l))
            layer.scale_base.copy_(fill(layer.scale_base, 1.1 + l))
            layer.scale_sp.copy_(0.5 + 0.5 * fill(layer.scale_sp, 2.2 + l).abs())
        model.act_fun[0].mask[1, 2] = 0.0
    return model


def fixed_inputs(requires_grad=False):
    """The 16 fixed samples of two inputs."""
    return torch.tensor([[math.sin(0.9 * s + 0.2), math.cos(1.7 * s)] for s in range(16)],
                        dtype=torch.float32, requires_grad=requires_grad)
