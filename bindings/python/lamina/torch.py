"""Lamina models as PyTorch modules: ``lamina.torch.Module(model)``.

An optional extra (``pip install lamina[torch]``); ``import lamina`` never imports torch,
only ``import lamina.torch`` does. Example, a torch layer before a Lamina KAN, trained by a
torch optimiser::

    import torch
    import lamina, lamina.torch

    kan = lamina.KAN(width=[3, 5, 1], grid=5, k=3, seed=0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), lamina.torch.Module(kan))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(100):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()
    torch.save(net.state_dict(), "net.pt")

How it works:

* The module has one ``torch.nn.Parameter`` per trainable Lamina tensor and one buffer per
  Lamina buffer (a KAN's ``grid`` and ``mask``), under the Lamina names: the name's dots
  become nested sub-modules, so ``module.state_dict()`` has exactly the keys of
  ``model.state_dict()`` ("0.coef", "0.grid", ...; prefixed as usual when the module sits
  inside another, "1.0.coef"). Saving and loading with the rest of a ``state_dict`` works.
* The parameters are copies, not views of Lamina's memory: the library keeps each tensor in
  a Swift array that a write replaces and may move, so handing its address to torch would
  not be safe. Before each forward (and backward), every tensor that torch changed since
  the module last sent it (by its ``_version`` counter and data pointer: optimiser steps,
  ``load_state_dict``, in-place initialisers) is written to the Lamina model. Changes made
  through ``.data`` bypass the version counter: call :meth:`Module.sync_to_lamina` after
  those. Changes made to the Lamina model itself (a Lamina trainer, ``update_grid``) reach
  torch with :meth:`Module.sync_from_lamina`.
* Forward calls ``model.predict``; backward calls the vector-Jacobian entry point
  (``lamina_model_parameter_vjp``), which gives dL/dx and every parameter's gradient in one
  backward pass after a forward pass at the same weights (a Lamina call keeps no state
  between calls, so backward runs the forward pass again). Double backward is not
  supported.
* float32 on the CPU only, as Lamina: other dtypes and devices raise ``TypeError`` rather
  than convert silently. Inputs are ``(..., input_dim)``.
* Backward writes the model's gradient storage, so while it runs no other call may use the
  model (the library refuses overlapping calls with ``InvalidArgumentError``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn
from torch.autograd.function import once_differentiable

from . import _library
from .model import Model
from .vjp import trainable_tensors

__all__ = ["Module"]


class _LaminaFunction(torch.autograd.Function):
    """y = model(x) with Lamina's forward and vector-Jacobian backward."""

    @staticmethod
    def forward(ctx: Any, module: "Module", x: torch.Tensor, *params: torch.Tensor) -> Any:
        module.sync_to_lamina(only_changed=True)
        x2 = x.detach().reshape(-1, module.lamina_model.input_dim).contiguous()
        y = module.lamina_model.predict(x2.numpy())
        ctx.module = module
        ctx.x_shape = x.shape
        # Saved so that torch refuses the backward pass if they change in between.
        ctx.save_for_backward(x2, *params)
        return torch.from_numpy(y).reshape(x.shape[:-1] + (module.lamina_model.output_dim,))

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dy: torch.Tensor) -> Any:
        module: Module = ctx.module
        x2 = ctx.saved_tensors[0]
        model = module.lamina_model
        need_x = ctx.needs_input_grad[1]
        need_params = any(ctx.needs_input_grad[2:])
        module.sync_to_lamina(only_changed=True)
        d = dy.detach().to(torch.float32).reshape(-1, model.output_dim).contiguous().numpy()
        x_np = x2.numpy()
        grads: List[Optional[torch.Tensor]] = [None] * len(module._trainable)
        if need_params:
            dx, by_name = model.vjp(x_np, d, parameters=True)
            grads = [torch.from_numpy(by_name[name]) for name in module._trainable]
        elif need_x:
            dx = model.vjp(x_np, d)
        dx_t = torch.from_numpy(dx).reshape(ctx.x_shape) if need_x else None
        return (None, dx_t, *grads)


class Module(nn.Module):
    """A Lamina model as a ``torch.nn.Module`` (see the module documentation).

    ``Module(model)`` wraps ``model`` (a :class:`lamina.Model`, :class:`lamina.KAN`, ...)
    without copying it: the module and the model share the weights as described above, and
    ``module.lamina_model`` is the same object.
    """

    def __init__(self, model: Model) -> None:
        super().__init__()
        if not isinstance(model, Model):
            raise TypeError(f"model must be a lamina.Model, not {type(model).__name__}")
        self.lamina_model = model
        trainable = [name for name, _ in trainable_tensors(model)]
        state = model.state_dict()
        #: Lamina names of the trainable tensors, in the order of the flat gradient.
        self._trainable: List[str] = trainable
        #: Lamina names of every tensor, in tensor order.
        self._tensor_names: List[str] = list(state)
        #: (data pointer, version) of each tensor when last written to or read from Lamina.
        self._sent: Dict[str, Tuple[int, int]] = {}
        known = set(trainable)
        for name, value in state.items():
            *path, leaf = name.split(".")
            owner = self._owner(path)
            tensor = torch.from_numpy(np.array(value, dtype=np.float32))
            if name in known:
                owner.register_parameter(leaf, nn.Parameter(tensor))
            else:
                owner.register_buffer(leaf, tensor)
        self._mark_all_sent()

    def _owner(self, path: List[str]) -> nn.Module:
        """The sub-module at ``path`` (dotted name parts), made on first use."""
        owner: nn.Module = self
        for part in path:
            child = owner._modules.get(part)
            if child is None:
                child = nn.Module()
                owner.add_module(part, child)
            owner = child
        return owner

    def _tensor(self, name: str) -> torch.Tensor:
        """The torch parameter or buffer holding the Lamina tensor ``name``."""
        *path, leaf = name.split(".")
        owner = self.get_submodule(".".join(path)) if path else self
        tensor = getattr(owner, leaf)
        assert isinstance(tensor, torch.Tensor)
        return tensor

    @staticmethod
    def _key(tensor: torch.Tensor) -> Tuple[int, int]:
        return (tensor.data_ptr(), tensor._version)

    def _mark_all_sent(self) -> None:
        self._sent = {name: self._key(self._tensor(name)) for name in self._tensor_names}

    def sync_to_lamina(self, only_changed: bool = False) -> None:
        """Write the torch parameters and buffers into the Lamina model.

        Every forward and backward does this for the tensors torch changed
        (``only_changed=True``); call it yourself after changing tensors through ``.data``.
        Raises :class:`TypeError` for a tensor that is not float32 on the CPU and
        :class:`~lamina.errors.NumericError` for NaN or Inf (the Lamina tensor is then
        unchanged).
        """
        lib = _library.lib()
        handle = self.lamina_model._ptr
        for name in self._tensor_names:
            tensor = self._tensor(name)
            key = self._key(tensor)
            if only_changed and self._sent.get(name) == key:
                continue
            values = _float32_cpu(tensor, f"tensor {name!r}").detach().contiguous().numpy()
            _library.check(
                lib.lamina_model_tensor_write(
                    handle, name.encode("utf-8"), _library.as_float_pointer(values), values.size
                ),
                f"tensor {name!r}",
            )
            self._sent[name] = key

    def sync_from_lamina(self) -> None:
        """Copy the Lamina model's tensors into the torch parameters and buffers.

        For changes made to the model by Lamina itself (a Lamina trainer, grid updates);
        torch optimisers keep their state, as after any in-place change of their parameters.
        """
        state = self.lamina_model.state_dict()
        with torch.no_grad():
            for name in self._tensor_names:
                self._tensor(name).copy_(torch.from_numpy(state[name]))
        self._mark_all_sent()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``model(x)`` for ``x`` of shape ``(..., input_dim)``, float32 on the CPU."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, not {type(x).__name__}")
        _float32_cpu(x, "x")
        in_dim = self.lamina_model.input_dim
        if x.dim() == 0 or x.shape[-1] != in_dim:
            raise ValueError(
                f"x has shape {tuple(x.shape)}; its last axis must have the model's"
                f" {in_dim} input features"
            )
        params = [self._tensor(name) for name in self._trainable]
        return _LaminaFunction.apply(self, x, *params)

    def extra_repr(self) -> str:
        return repr(self.lamina_model)


def _float32_cpu(tensor: torch.Tensor, what: str) -> torch.Tensor:
    """``tensor`` when it is float32 on the CPU; else a TypeError saying how to convert."""
    if tensor.dtype != torch.float32:
        raise TypeError(
            f"{what} is {tensor.dtype}; Lamina computes in float32 (convert with .float(), or"
            " keep the module in float32)"
        )
    if tensor.device.type != "cpu":
        raise TypeError(f"{what} is on {tensor.device}; Lamina runs on the CPU (use .cpu())")
    return tensor
