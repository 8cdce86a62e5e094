"""pykan's ``fit`` with a ``loss_fn`` written in torch: torch's optimizer over Lamina's model.

A loss the engine does not know is differentiated by torch; the model's gradient comes
from the engine's vector-Jacobian call through :class:`lamina.torch.Module`. The loop is
pykan's: its grid-update schedule, LBFGS with pykan's settings (torch's ``LBFGS``, strong
Wolfe, history 10, tolerances 1e-32) or Adam, the test loss after every step, and
``sqrt`` of the losses in the results.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from .tensors import scalar


def fit_with_torch_loss(
    model: Any,
    train: "tuple[np.ndarray, Any]",
    test: "tuple[np.ndarray, Any]",
    loss_fn: Callable[[Any, Any], Any],
    opt: str,
    steps: int,
    lr: float,
    batch: int,
    update_grid: bool,
    grid_update_num: int,
    start_grid_update_step: int,
    stop_grid_update_step: int,
    on_step: Callable[[int, float, float, float], Any],
) -> Dict[str, List[Any]]:
    """Run pykan's loop; returns train_loss, test_loss and reg (zeros) as pykan."""
    import torch

    import lamina.torch as lamina_torch

    module = lamina_torch.Module(model)
    train_x = torch.from_numpy(np.ascontiguousarray(train[0]))
    test_x = torch.from_numpy(np.ascontiguousarray(test[0]))
    train_y, test_y = _labels(train[1]), _labels(test[1])
    if opt == "lbfgs":
        optimizer: Any = torch.optim.LBFGS(
            module.parameters(), lr=lr, history_size=10, line_search_fn="strong_wolfe",
            tolerance_grad=1e-32, tolerance_change=1e-32,
        )
    else:
        optimizer = torch.optim.Adam(module.parameters(), lr=lr)
    n, n_test = train_x.shape[0], test_x.shape[0]
    rows = n if batch == -1 or batch > n else batch
    rows_test = n_test if batch == -1 or batch > n_test else batch
    frequency = max(1, int(stop_grid_update_step / grid_update_num)) if update_grid else 1
    results: Dict[str, List[Any]] = {"train_loss": [], "test_loss": [], "reg": []}

    def loss_of(x: Any, y: Any) -> Any:
        prediction = module(x)
        if y.is_floating_point():
            prediction = prediction.to(y.dtype)
        return loss_fn(prediction, y)

    for step in range(int(steps)):
        train_id = np.random.choice(n, rows, replace=False)  # pykan draws with numpy
        test_id = np.random.choice(n_test, rows_test, replace=False)
        if update_grid and step % frequency == 0 and start_grid_update_step <= step < stop_grid_update_step:
            module.sync_to_lamina()
            model.update_grid_from_samples(train[0][train_id])
            module.sync_from_lamina()
        last: List[float] = []

        def closure() -> Any:
            optimizer.zero_grad()
            loss = loss_of(train_x[train_id], train_y[train_id])
            loss.backward()
            # pykan records the loss of the closure's last call (the line search's end)
            last[:] = [float(loss.detach())]
            return loss

        if opt == "lbfgs":
            optimizer.step(closure)
        else:
            closure()
            optimizer.step()
        module.sync_to_lamina()
        with torch.no_grad():
            test_loss = float(loss_of(test_x[test_id], test_y[test_id]))
        train_value, test_value = float(np.sqrt(last[0])), float(np.sqrt(test_loss))
        results["train_loss"].append(scalar(train_value))
        results["test_loss"].append(scalar(test_value))
        results["reg"].append(scalar(0.0))
        on_step(step + 1, last[0], test_loss, float("nan"))  # raw: the caller takes roots
    module.sync_to_lamina()
    return results


def _labels(values: Any) -> Any:
    import torch

    if isinstance(values, torch.Tensor):
        return values.detach().cpu()
    return torch.as_tensor(np.asarray(values))
