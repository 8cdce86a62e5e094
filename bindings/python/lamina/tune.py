"""KAN hyper-parameter sweeps on Ray Tune, stopped early by ASHA from Lamina's progress callback.

Example::

    import lamina
    from lamina.tune import sweep_kan

    data = lamina.create_dataset(lambda x: x[:, :1] ** 2 + x[:, 1:], n_var=2)
    result = sweep_kan(data, {"width": [[2, 5, 1], [2, 10, 1]], "grid": [3, 5, 10],
                              "lamb": [0.0, 1e-3]}, steps=200)
    print(result)            # one row per trial, best first
    result.best["config"]    # {"width": [2, 5, 1], "grid": 10, "lamb": 0.0}

Each trial is a :class:`lamina.KAN` fitted by :meth:`lamina.KAN.fit` in a Ray task of
``cpus_per_trial`` CPUs (and as many Lamina threads); every ``report_every`` steps the fit's
progress callback reports ``train_loss`` and ``test_loss`` to Tune, whose ASHA scheduler
stops the trials that fall behind. Needs ``pip install 'lamina[ray]'``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, List, Mapping, Optional

__all__ = ["SweepResult", "sweep_kan"]

#: Keys of a sweep's space that go to :meth:`lamina.KAN.fit`; every other key goes to
#: :class:`lamina.KAN`'s constructor (``width``, ``grid``, ``k``, ``basis``, ``seed``, ...).
FIT_KEYS = frozenset(
    {
        "opt",
        "lr",
        "batch",
        "lamb",
        "lamb_l1",
        "lamb_entropy",
        "lamb_coef",
        "lamb_coefdiff",
        "update_grid",
        "grid_update_num",
        "stop_grid_update_step",
    }
)


@dataclasses.dataclass
class SweepResult:
    """The trials of a sweep, best first: each a dict with ``config``, the last reported
    ``train_loss`` and ``test_loss``, ``steps`` done, ``stopped`` (ended early by the
    scheduler) and ``error`` (None, or why the trial failed).
    """

    rows: List[Dict[str, Any]]
    metric: str

    @property
    def best(self) -> Dict[str, Any]:
        """The trial with the lowest metric."""
        return self.rows[0]

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame (config keys as columns)."""
        import pandas

        return pandas.DataFrame(
            [dict(r["config"], **{k: v for k, v in r.items() if k != "config"}) for r in self.rows]
        )

    def __str__(self) -> str:
        keys = sorted({k for r in self.rows for k in r["config"]})
        header = keys + ["train_loss", "test_loss", "steps", "stopped"]
        lines = [header]
        for r in self.rows:
            lines.append(
                [_cell(r["config"].get(k)) for k in keys]
                + [
                    _cell(r["train_loss"]),
                    _cell(r["test_loss"]),
                    str(r["steps"]),
                    str(r["stopped"]),
                ]
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines
        )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _trial(
    config: Dict[str, Any],
    dataset: Mapping[str, Any],
    steps: int,
    report_every: int,
    threads: int,
    fixed: Mapping[str, Any],
) -> None:
    """One trial, run by Tune: a KAN from ``config``, fitted with reports to Tune."""
    from ray import tune

    from . import set_num_threads
    from .kan_model import KAN

    set_num_threads(threads)
    merged = dict(fixed, **config)
    fit_args = {k: v for k, v in merged.items() if k in FIT_KEYS}
    model_args = {k: v for k, v in merged.items() if k not in FIT_KEYS}
    model = KAN(**model_args)

    def report(step: int, train_loss: float, test_loss: float) -> bool:
        done = step + 1
        if done % report_every == 0 or done == steps:
            tune.report(
                {"train_loss": float(train_loss), "test_loss": float(test_loss), "step": done}
            )
        return False

    model.fit(dataset, steps=steps, progress=report, **fit_args)


def sweep_kan(
    dataset: Mapping[str, Any],
    space: Mapping[str, Any],
    *,
    steps: int = 100,
    report_every: int = 10,
    metric: str = "test_loss",
    num_samples: int = 1,
    scheduler: Optional[str] = "asha",
    grace_period: int = 2,
    reduction_factor: float = 3,
    cpus_per_trial: int = 1,
    max_concurrent: Optional[int] = None,
    fixed: Optional[Mapping[str, Any]] = None,
    ray_address: Optional[str] = None,
    storage_path: Optional[str] = None,
    verbose: int = 1,
) -> SweepResult:
    """Sweep KAN settings on Ray Tune.

    ``dataset`` is a pykan-style dict (``train_input``, ``train_label``, ``test_input``,
    ``test_label``), sent once to Ray's object store. ``space`` maps keys to a list of
    values (every combination is tried: ``tune.grid_search``) or any Tune search space
    (``tune.loguniform(1e-4, 1e-2)``); ``width`` takes a list of width lists. Keys in
    :data:`FIT_KEYS` (``lamb``, ``lr``, ``opt``, ...) go to :meth:`lamina.KAN.fit`, the
    rest to :class:`lamina.KAN`; ``fixed`` gives values every trial shares. Each trial runs
    ``steps`` steps and reports every ``report_every``; with ``scheduler="asha"`` (None for
    none) Tune's ASHA scheduler stops trials whose ``metric`` lags after ``grace_period``
    reports. ``num_samples`` repeats the grid (or draws that many from random spaces).
    Connects to ``ray_address`` (or ``RAY_ADDRESS``, else starts a local Ray) unless Ray is
    initialised. Returns the trials as a :class:`SweepResult`, best first.
    """
    try:
        import ray
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler
    except ImportError:
        raise ImportError("lamina.tune needs Ray Tune: pip install 'lamina[ray]'") from None
    if steps < 1 or report_every < 1:
        raise ValueError(f"steps and report_every must be >= 1, not {steps} and {report_every}")
    if not ray.is_initialized():
        ray.init(address=ray_address, log_to_driver=False, configure_logging=False)
    param_space = {k: _search(tune, v) for k, v in space.items()}
    chosen = None
    if scheduler == "asha":
        chosen = ASHAScheduler(
            time_attr="training_iteration",
            max_t=math.ceil(steps / report_every),
            grace_period=grace_period,
            reduction_factor=reduction_factor,
        )
    elif scheduler is not None:
        raise ValueError(f"scheduler must be 'asha' or None, not {scheduler!r}")
    trainable = tune.with_resources(
        tune.with_parameters(
            _trial,
            dataset=dict(dataset),
            steps=steps,
            report_every=report_every,
            threads=cpus_per_trial,
            fixed=dict(fixed or {}),
        ),
        {"cpu": cpus_per_trial},
    )
    tuner = tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric=metric,
            mode="min",
            scheduler=chosen,
            num_samples=num_samples,
            max_concurrent_trials=max_concurrent,
        ),
        run_config=tune.RunConfig(storage_path=storage_path, verbose=verbose),
    )
    grid = tuner.fit()
    rows = []
    for trial in grid:
        last = trial.metrics or {}
        done = int(last.get("step", 0))
        rows.append(
            {
                "config": dict(trial.config),
                "train_loss": last.get("train_loss", math.nan),
                "test_loss": last.get("test_loss", math.nan),
                "steps": done,
                "stopped": done < steps,
                "error": None
                if trial.error is None
                else f"{type(trial.error).__name__}: {trial.error}",
            }
        )
    rows.sort(key=lambda r: (math.isnan(r[metric]), r[metric]))
    return SweepResult(rows, metric)


def _search(tune: Any, value: Any) -> Any:
    """A list of values as a grid search; anything else (a Tune space, one value) as it is."""
    if isinstance(value, (list, tuple)):
        return tune.grid_search(list(value))
    return value
