"""How every shape of a dataset is fitted: the field, the fit and the scoring, in one record.

The defaults are the tri-plane processing paper's recipe (3 x 32 x 32 planes of 16 channels,
init std 1e-3, the features plus a 63-d positional encoding into a 64-wide sine MLP, Adam at
1e-4, 1000 steps of 50,000 points), with the shapes normalised into the field's box.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..errors import InvalidArgumentError

__all__ = ["FitSettings"]

#: The decoder modes: one decoder per chunk of shapes, copied into each shape's file, or a
#: decoder of its own for every shape.
DECODER_MODES = ("shared", "per_shape")


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """Settings for fitting one field per shape.

    Field: ``resolution``, ``channels``, ``aggregation``, ``fourier`` (positional-encoding
    frequencies appended to the features; 10 gives the 63-d encoding), ``init_std``,
    ``hidden`` and ``activation`` (the decoder MLP), ``decoder`` (``"shared"``: one decoder
    per chunk of ``chunk_size`` shapes, as the paper shares its MLP, copied into every
    shape's file; ``"per_shape"``: each shape trains its own), ``extra_spec`` (further
    tri-plane spec keys, e.g. ``{"align_corners": False}``).

    Normalisation: each shape's bounding box is centred on the origin and scaled so that its
    longest half side is ``fill`` (the field's box is ``[-1, 1]^3``); the centre and scale
    go into the manifest, so results map back (``source = field / scale + center``).

    Fit: ``steps`` optimizer steps of ``batch_size`` points per shape (a chunk's step
    draws ``batch_size x`` its shapes), from ``samples`` points per shape drawn as
    :func:`lamina.sample_sdf_points` does (``near_fraction``, ``sigma``), ``learning_rate``,
    ``loss`` (``"l1"`` or ``"mse"`` on signed distances), ``seed``, ``fit_config`` (further
    trainer config keys, e.g. ``{"plane_tv": 1e-4}``). Point clouds are fitted one at a time
    with :meth:`lamina.Model.fit_points` (``steps``, ``learning_rate``, ``seed``).

    Scoring (against the source): ``score`` turns it on; IoU by sign agreement at
    ``score_points`` uniform and near-surface points (meshes only); Chamfer (L2) and F-score
    at ``fscore_threshold`` between ``score_samples`` area-uniform samples of the source and
    of the field's mesh at ``score_resolution`` (for a point cloud, against the cloud). All
    in the normalised box, the usual convention.

    Output: ``meshes`` writes each field's mesh (``mesh_resolution``) beside its model file,
    in the source's coordinates.
    """

    resolution: int = 32
    channels: int = 16
    aggregation: str = "sum"
    fourier: int = 10
    init_std: float = 1e-3
    hidden: Sequence[int] = (64,)
    activation: str = "sine"
    decoder: str = "shared"
    extra_spec: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    fill: float = 0.9
    steps: int = 1000
    batch_size: int = 50_000
    samples: int = 250_000
    near_fraction: float = 0.5
    sigma: float = 0.01
    learning_rate: float = 1e-4
    loss: str = "l1"
    seed: int = 0
    fit_config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    chunk_size: int = 8
    score: bool = True
    score_points: int = 100_000
    score_samples: int = 100_000
    score_resolution: int = 128
    fscore_threshold: float = 0.01
    meshes: bool = False
    mesh_resolution: int = 128

    def __post_init__(self) -> None:
        if self.decoder not in DECODER_MODES:
            raise InvalidArgumentError(
                f"decoder must be one of {', '.join(DECODER_MODES)}, not {self.decoder!r}"
            )
        for name in (
            "steps",
            "batch_size",
            "samples",
            "chunk_size",
            "score_points",
            "score_samples",
            "score_resolution",
            "mesh_resolution",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidArgumentError(f"{name} must be a positive integer, not {value!r}")
        if not 0.0 < float(self.fill) <= 1.0:
            raise InvalidArgumentError(f"fill must be in (0, 1], not {self.fill!r}")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        object.__setattr__(self, "extra_spec", dict(self.extra_spec))
        object.__setattr__(self, "fit_config", dict(self.fit_config))

    # ---- what the engine is given ------------------------------------------------------------
    def spec(self, fields: int = 1) -> Dict[str, Any]:
        """The tri-plane spec for ``fields`` shapes fitted together."""
        spec: Dict[str, Any] = {
            "kind": "triplane",
            "resolution": self.resolution,
            "channels": self.channels,
            "aggregation": self.aggregation,
            "fourier": self.fourier,
            "init_std": self.init_std,
            "decoder": {"hidden": list(self.hidden), "activation": self.activation},
            "output": 1,
            "seed": self.seed,
        }
        spec.update(self.extra_spec)
        if fields > 1:
            spec["fields"] = fields
            spec["decoder_per_field"] = self.decoder == "per_shape"
        return spec

    def fit_options(self) -> Dict[str, Any]:
        """Keyword arguments of :meth:`lamina.TriplaneField.fit_sdf` for one chunk."""
        return dict(
            self.fit_config,
            steps=self.steps,
            learning_rate=self.learning_rate,
            loss=self.loss,
            seed=self.seed,
        )

    # ---- as text -----------------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """The settings as JSON-ready values (kept in the output folder's ``settings.json``)."""
        values = dataclasses.asdict(self)
        values["hidden"] = list(self.hidden)
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "FitSettings":
        """Settings from :meth:`to_dict`'s form; unknown keys are refused, naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidArgumentError(
                f"unknown fit setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**dict(values))

    def replace(self, **changes: Any) -> "FitSettings":
        """A copy with ``changes`` applied (checked as the constructor checks)."""
        return dataclasses.replace(self, **changes)

    def differences(self, other: "FitSettings") -> List[str]:
        """Names of the settings that differ from ``other``'s (for a resumed run's check)."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [k for k in mine if json.dumps(mine[k]) != json.dumps(theirs[k])]


def settings_from(value: Optional[Any], overrides: Mapping[str, Any]) -> FitSettings:
    """``value`` (None, a :class:`FitSettings` or a dict) with keyword ``overrides`` applied."""
    if value is None:
        base = FitSettings()
    elif isinstance(value, FitSettings):
        base = value
    elif isinstance(value, Mapping):
        base = FitSettings.from_dict(value)
    else:
        raise InvalidArgumentError(
            f"settings must be a FitSettings or a dict, not {type(value).__name__}"
        )
    return base.replace(**overrides) if overrides else base
