"""Tri-plane neural fields: :class:`TriplaneField`.

A tri-plane field stores three axis-aligned feature planes (xy, xz, yz), samples each
bilinearly at a point, aggregates the three feature vectors and decodes them with a small
network (an MLP, or a KAN). It is an ordinary :class:`~lamina.Model` built from the
``"triplane"`` spec (input: x, y, z; output: ``output`` values, 1 for a signed distance or an
occupancy logit), so ``predict``, ``gradient``, ``save``, :func:`lamina.load` and
``state_dict`` work on it; the planes are the named tensor ``"0.planes"`` of shape
``[3, channels, resolution, resolution]`` (PyTorch's ``grid_sample`` layout).

Example::

    import numpy as np
    import lamina

    field = lamina.TriplaneField(resolution=64, channels=16, decoder={"hidden": [64]})
    points = np.random.default_rng(0).uniform(-1, 1, (200_000, 3)).astype(np.float32)
    torus = {"type": "torus", "major": 0.5, "minor": 0.2}
    field.fit_sdf(points, lamina.shape_sdf(torus, points), steps=2000, batch_size=16384)
    vertices, faces = field.extract_mesh(resolution=128)
    lamina.save_mesh("torus.ply", vertices, faces)
    field.save_slice("slice.png", axis="z")
"""

from __future__ import annotations

import ctypes
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

from . import _library
from .errors import InvalidArgumentError
from .mesh import MeshHandle
from .model import Model, PathLike, as_float32, register_kind, to_json

__all__ = ["TriplaneField", "field_slice", "field_mesh", "render_sdf", "stack_fields"]

_AXES = {"x": 0, "y": 1, "z": 2, 0: 0, 1: 1, 2: 2}

Bounds = Union[None, float, Sequence[float], Sequence[Sequence[float]]]


def _bounds6(bounds: Bounds) -> Optional[np.ndarray]:
    """Six floats (xmin, ymin, zmin, xmax, ymax, zmax) from the accepted bounds forms."""
    if bounds is None:
        return None
    array = np.asarray(bounds, dtype=np.float64)
    if array.shape == ():  # one half-width: [-b, b]^3
        b = float(array)
        return np.array([-b, -b, -b, b, b, b], dtype=np.float32)
    if array.shape == (2,):  # [lo, hi] for every axis
        return np.array([array[0]] * 3 + [array[1]] * 3, dtype=np.float32)
    if array.shape == (3, 2):  # [[xmin, xmax], [ymin, ymax], [zmin, zmax]]
        return np.concatenate([array[:, 0], array[:, 1]]).astype(np.float32)
    if array.shape == (6,):
        return array.astype(np.float32)
    raise InvalidArgumentError(
        "bounds must be a half-width, [lo, hi], [[xmin, xmax], [ymin, ymax], [zmin, zmax]] "
        f"or 6 numbers, not shape {array.shape}"
    )


def _bounds_pointer(six: Optional[np.ndarray]) -> Any:
    return None if six is None else six.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def field_slice(
    model: Model,
    axis: Union[str, int] = "z",
    offset: float = 0.0,
    resolution: int = 256,
    bounds: Bounds = None,
) -> np.ndarray:
    """Evaluate a 3-input model on the plane ``axis = offset``.

    Returns an array of shape ``(resolution, resolution)`` for a one-output model, else
    ``(resolution, resolution, outputs)``. Rows follow the second remaining axis and columns
    the first (for ``axis="z"``: rows are y, columns x), so ``plt.imshow(s, origin="lower")``
    shows the slice the usual way up. ``bounds`` defaults to the field's box.
    """
    if axis not in _AXES:
        raise InvalidArgumentError(f"axis must be 'x', 'y', 'z' or 0, 1, 2, not {axis!r}")
    six = _bounds6(bounds)
    out = np.empty((int(resolution), int(resolution), model.output_dim), dtype=np.float32)
    _library.check(
        _library.lib().lamina_model_slice(
            model._ptr,
            _AXES[axis],
            ctypes.c_float(float(offset)),
            int(resolution),
            _bounds_pointer(six),
            _library.as_float_pointer(out),
        )
    )
    return out[:, :, 0] if model.output_dim == 1 else out


def field_mesh(
    model: Model, resolution: int = 128, level: float = 0.0, bounds: Bounds = None
) -> MeshHandle:
    """Marching cubes on a 3-input model's first output; returns the owned mesh handle."""
    six = _bounds6(bounds)
    handle = ctypes.c_void_p()
    _library.check(
        _library.lib().lamina_model_extract_mesh(
            model._ptr,
            int(resolution),
            ctypes.c_float(float(level)),
            _bounds_pointer(six),
            ctypes.byref(handle),
        )
    )
    return MeshHandle(handle)


def render_sdf(
    model: Model,
    resolution: int = 256,
    azimuth: float = 35.0,
    elevation: float = 25.0,
    distance: float = 3.0,
    bounds: Bounds = None,
    max_steps: int = 96,
) -> np.ndarray:
    """A shaded image of a signed-distance model's zero level set, by sphere tracing.

    A pinhole camera at ``distance`` from the box centre, looking at it from ``azimuth`` and
    ``elevation`` (degrees), casts ``resolution`` x ``resolution`` rays; each marches by the
    predicted distance (batched through ``predict``) until it is within 1e-3 of the surface,
    leaves the box, or takes ``max_steps``. Hits are shaded by their normal (the model's
    gradient) with a key light above-left of the camera plus ambient light. Returns an RGB float array of shape
    ``(resolution, resolution, 3)`` in [0, 1], row 0 at the top. Needs a field whose first
    output is a (roughly) signed distance: negative inside.
    """
    six = _bounds6(bounds) if bounds is not None else np.array([-1, -1, -1, 1, 1, 1], np.float32)
    lo, hi = six[:3].astype(np.float64), six[3:].astype(np.float64)
    centre, half = (lo + hi) / 2, float(np.max(hi - lo) / 2)
    az, el = np.radians(azimuth), np.radians(elevation)
    forward = -np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
    eye = centre - forward * distance * half
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    r = int(resolution)
    u = (np.arange(r) + 0.5) / r * 2 - 1
    uu, vv = np.meshgrid(u, -u)  # row 0 at the top
    fov = 0.5 / distance * 1.6
    dirs = forward + fov * (uu[..., None] * right + vv[..., None] * up)
    dirs = (dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)).reshape(-1, 3)
    # Start each ray where it enters the box (slab test); rays that miss it stay background.
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = (lo - eye) / dirs
        t1 = (hi - eye) / dirs
    t_near = np.nanmax(np.minimum(t0, t1), axis=1).clip(min=0)
    t_far = np.nanmin(np.maximum(t0, t1), axis=1)
    t = t_near.copy()
    active = t_near < t_far
    hit = np.zeros(len(dirs), dtype=bool)
    for _ in range(int(max_steps)):
        index = np.flatnonzero(active)
        if index.size == 0:
            break
        points = (eye + t[index, None] * dirs[index]).astype(np.float32)
        d = model.predict(points)[:, 0].astype(np.float64)
        done = d < 1e-3
        hit[index[done]] = True
        t[index] += np.maximum(d, 0) * 0.9
        active[index[done]] = False
        active[index[t[index] > t_far[index]]] = False
    image = np.ones((len(dirs), 3))
    image[:] = (0.93, 0.94, 0.96)
    if hit.any():
        points = (eye + t[hit, None] * dirs[hit]).astype(np.float32)
        g = model.gradient(points).reshape(len(points), -1, 3)[:, 0, :].astype(np.float64)
        n = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
        key = -forward + 0.6 * up - 0.4 * right  # a key light above and left of the camera
        key /= np.linalg.norm(key)
        light = np.clip(n @ key, 0, 1)
        base = np.array([0.85, 0.55, 0.35])
        image[hit] = base * (0.25 + 0.75 * light[:, None])
    return image.reshape(r, r, 3)


class TriplaneField(Model):
    """A tri-plane neural field (spec ``"kind": "triplane"``).

    Args:
        resolution: texels per plane side (an int, or a list for several resolutions).
        channels: features per texel.
        aggregation: how the three planes' features combine: ``"sum"``, ``"product"``,
            ``"mean"`` or ``"concat"``.
        decoder: the decoding network: MLP keys ``{"hidden": [64], "activation": "relu"}``
            (default), or a KAN ``{"kind": "kan", "hidden": [16], ...}``.
        output: outputs per point (1 for a signed distance or occupancy logit).
        bounds: the box the planes cover (default ``[-1, 1]`` on every axis).
        seed: seed of the initialisation.
        **extra: further spec keys (``align_corners``, ``padding``, ``fourier``, ``fields``,
            ``init_std``, ``decoder_per_field``; see ``lamina_model_create`` in lamina.h).
            ``decoder_per_field=True`` with ``fields=N`` gives each field its own MLP decoder
            (tensors ``"1.<stage>.weight"`` ``[N, out, in]`` and ``"1.<stage>.bias"``
            ``[N, out]``) instead of one shared decoder.

    A model of several fields splits into single-field models that save and load alone
    (:meth:`split_fields`, :meth:`field`), and :func:`lamina.stack_fields` stacks
    single-field models back into one model of several fields. With a shared decoder a
    split field predicts at ``(x, y, z)`` exactly (bit for bit) what the model predicts at
    ``(field, x, y, z)``; with per-field decoders its weights are exact copies and its
    predictions agree to float rounding. Stacking the split parts gives the model back, bit
    for bit.
    """

    def __init__(
        self,
        resolution: Union[int, Sequence[int]] = 64,
        channels: int = 16,
        aggregation: str = "sum",
        decoder: Optional[Mapping[str, Any]] = None,
        output: int = 1,
        bounds: Any = None,
        seed: int = 0,
        **extra: Any,
    ) -> None:
        spec: Dict[str, Any] = {
            "kind": "triplane",
            "resolution": resolution if isinstance(resolution, int) else list(resolution),
            "channels": int(channels),
            "aggregation": aggregation,
            "decoder": dict(decoder) if decoder is not None else {"hidden": [64], "activation": "relu"},
            "output": int(output),
            "seed": int(seed),
        }
        if bounds is not None:
            spec["bounds"] = bounds
        spec.update(extra)
        super().__init__(spec)

    # ---- reading ---------------------------------------------------------------------------
    @property
    def bounds(self) -> np.ndarray:
        """The field's box as six floats: xmin, ymin, zmin, xmax, ymax, zmax."""
        six = _bounds6(self.spec.get("bounds", [-1.0, 1.0]))
        assert six is not None
        return six

    @property
    def planes(self) -> Dict[str, np.ndarray]:
        """The feature planes by tensor name (``"0.planes"``, or one per resolution level)."""
        return {k: v for k, v in self.state_dict().items() if k.split(".", 1)[-1].startswith("planes")}

    def normals(self, points: ArrayLike) -> np.ndarray:
        """Unit gradients of the first output at ``points`` (surface normals of an SDF)."""
        g = self.gradient(points)
        g = g.reshape(g.shape[0], -1, 3)[:, 0, :]
        return g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)

    def slice(
        self,
        axis: Union[str, int] = "z",
        offset: float = 0.0,
        resolution: int = 256,
        bounds: Bounds = None,
    ) -> np.ndarray:
        """The field on the plane ``axis = offset`` (see :func:`field_slice`)."""
        return field_slice(self, axis, offset, resolution, bounds)

    def save_slice(
        self,
        path: PathLike,
        axis: Union[str, int] = "z",
        offset: float = 0.0,
        resolution: int = 256,
        level: Optional[float] = 0.0,
    ) -> None:
        """Write a slice as a PNG image (matplotlib): a diverging colour map centred on 0 and,
        unless ``level`` is None, the iso-contour at ``level`` (the surface of an SDF)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        values = self.slice(axis, offset, resolution)
        if values.ndim == 3:
            values = values[:, :, 0]
        six = self.bounds
        a, b = [d for d in range(3) if d != _AXES[axis]]
        extent = (six[a], six[a + 3], six[b], six[b + 3])
        limit = float(np.abs(values).max()) or 1.0
        fig, ax = plt.subplots(figsize=(5, 5))
        image = ax.imshow(values, origin="lower", extent=extent, cmap="RdBu", vmin=-limit, vmax=limit)
        if level is not None and values.min() < level < values.max():
            xs = np.linspace(extent[0], extent[1], resolution)
            ys = np.linspace(extent[2], extent[3], resolution)
            ax.contour(xs, ys, values, levels=[level], colors="k", linewidths=1)
        names = "xyz"
        ax.set_xlabel(names[a])
        ax.set_ylabel(names[b])
        ax.set_title(f"{names[_AXES[axis]]} = {offset:g}")
        fig.colorbar(image, ax=ax, shrink=0.8)
        fig.savefig(str(path), dpi=100, bbox_inches="tight")
        plt.close(fig)

    def render(self, path: Optional[PathLike] = None, resolution: int = 256, **camera: Any) -> np.ndarray:
        """A shaded preview of the field's zero level set (see :func:`render_sdf`); written as
        a PNG to ``path`` (with matplotlib) when given. Returns the RGB image."""
        image = render_sdf(self, resolution, bounds=self.bounds, **camera)
        if path is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            plt.imsave(str(path), np.clip(image, 0, 1))
        return image

    def extract_mesh(
        self,
        resolution: int = 128,
        level: float = 0.0,
        bounds: Bounds = None,
        field: Optional[int] = None,
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Marching cubes on the field: ``(vertices (V, 3) float32, faces (F, 3) uint32)``.

        ``resolution`` samples per axis over ``bounds`` (default: the field's box); the
        surface is where the first output equals ``level``, triangles counter-clockwise seen
        from the side where the field is above ``level`` (outside, for an SDF). For a model
        of several fields, ``field`` picks one (its grid is sampled here and meshed by
        :func:`lamina.marching_cubes`).
        """
        if self.fields > 1:
            return self._extract_field_mesh(resolution, level, bounds, field)
        mesh = field_mesh(self, resolution, level, bounds)
        try:
            return mesh.arrays()
        finally:
            mesh.close()

    # ---- several fields --------------------------------------------------------------------
    @property
    def fields(self) -> int:
        """Number of fields fitted at once (spec ``fields``); inputs carry a field index
        column first when it is more than 1."""
        return int(self.spec.get("fields", 1))

    def field_points(self, field: int, points: ArrayLike) -> np.ndarray:
        """Rows ``(field, x, y, z)`` for ``points`` (n, 3) of one field of a multi-field model."""
        if not 0 <= int(field) < self.fields:
            raise InvalidArgumentError(f"field {field} is out of range (the model has {self.fields})")
        p = as_float32(points, "points").reshape(-1, 3)
        return np.concatenate([np.full((len(p), 1), float(field), np.float32), p], axis=1)

    def field_planes(self, field: int) -> Dict[str, np.ndarray]:
        """One field's planes by tensor name, each ``[3, C, R, R]`` (xy, xz, yz)."""
        if not 0 <= int(field) < self.fields:
            raise InvalidArgumentError(f"field {field} is out of range (the model has {self.fields})")
        return {k: v[3 * field : 3 * field + 3] for k, v in self.planes.items()}

    def fit_sdf_many(
        self, points: Sequence[ArrayLike], sdf: Sequence[ArrayLike], **fit: Any
    ) -> Any:
        """Fit every field of a multi-field model in one training run: ``points[k]`` (n_k, 3)
        and ``sdf[k]`` are field k's samples (shuffled together, so each batch mixes fields
        and a shared decoder sees all; with ``decoder_per_field`` each field trains its own). Keyword arguments as :meth:`fit_sdf`."""
        if len(points) != self.fields or len(sdf) != self.fields:
            raise InvalidArgumentError(
                f"need one point set and one sdf array per field ({self.fields}), "
                f"got {len(points)} and {len(sdf)}"
            )
        x = np.concatenate([self.field_points(k, p) for k, p in enumerate(points)])
        y = np.concatenate([as_float32(v, "sdf").reshape(-1) for v in sdf])
        return self.fit_sdf(x, y, **fit)

    def _extract_field_mesh(
        self, resolution: int, level: float, bounds: Bounds, field: Optional[int]
    ) -> Tuple[np.ndarray, np.ndarray]:
        from .shapes import marching_cubes

        if field is None:
            raise InvalidArgumentError(f"this model holds {self.fields} fields: pass field=")
        six = _bounds6(bounds) if bounds is not None else self.bounds
        r = int(resolution)
        axes = [np.linspace(six[d], six[d + 3], r, dtype=np.float32) for d in range(3)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        values = self.predict(self.field_points(field, grid))[:, 0].reshape(r, r, r)
        vertices, faces = marching_cubes(values, bounds=six.tolist(), level=level)[:2]
        return vertices, faces

    def upsample(self, resolution: int) -> "TriplaneField":
        """A new field whose planes are bilinearly resampled to ``resolution`` (coarse to fine).

        With ``align_corners`` true and ``resolution = 2 R - 1`` the field is unchanged.
        """
        handle = ctypes.c_void_p()
        _library.check(
            _library.lib().lamina_model_triplane_upsample(self._ptr, int(resolution), ctypes.byref(handle))
        )
        return self._wrap(handle)  # type: ignore[return-value]

    def field(self, k: int) -> "TriplaneField":
        """Field ``k`` as a model of its own (``lamina_model_field_split``): fields 1, input
        x, y, z, every other spec key kept; its planes are field ``k``'s and its decoder the
        shared decoder or field ``k``'s own. Raises :class:`~lamina.InvalidArgumentError`
        when ``k`` is out of range."""
        if int(k) < 0:
            raise InvalidArgumentError(f"field {k} is out of range (the model has {self.fields})")
        handle = ctypes.c_void_p()
        _library.check(_library.lib().lamina_model_field_split(self._ptr, int(k), ctypes.byref(handle)))
        return self._wrap(handle)  # type: ignore[return-value]

    def split_fields(self) -> List["TriplaneField"]:
        """Every field as a model of its own, in order (:meth:`field` for each)."""
        return [self.field(k) for k in range(self.fields)]

    # ---- fitting ---------------------------------------------------------------------------
    def fit_sdf(
        self,
        points: ArrayLike,
        sdf: ArrayLike,
        steps: int = 1000,
        batch_size: int = 16384,
        learning_rate: float = 1e-3,
        plane_learning_rate: Optional[float] = None,
        loss: str = "l1",
        truncation: float = 0.0,
        progress: Any = True,
        on_divergence: str = "warn",
        **config: Any,
    ) -> Any:
        """Fit the field to signed distances ``sdf`` at ``points`` with Adam.

        Learning rates: ``learning_rate`` trains everything, decoder and feature planes
        alike, as a PyTorch optimizer with one parameter group does, unless
        ``plane_learning_rate`` gives the planes their own rate. (Lamina 0.1 trained the
        planes at 10 x ``learning_rate`` by default; on a torus that was no better at 1e-3
        and worse above it, e.g. IoU 0.948 and 17 degrees of normal error against 0.977 and
        5.6 at 5e-3; ``bench/plane_rate.py``.) The history's ``repr`` shows the rates used
        (``history.learning_rate``, ``history.learning_rates``).

        ``steps`` optimizer steps of ``batch_size`` points drawn by shuffling ``points``,
        rounded up to whole epochs (``ceil(steps / ceil(len(points) / batch_size))`` of
        them). ``loss`` is ``"l1"`` or ``"mse"``, optionally with ``truncation`` (DeepSDF's
        clamp); ``"unsigned_distance"`` fits unsigned distances. Extra keyword arguments are
        trainer config keys (``plane_tv``, ``plane_l2``, ``schedule``, ``seed``,
        ``learning_rates``, ...; not ``epochs``, which ``steps`` sets). The library makes
        the trainer config from all of these (``lamina_model_fit_config``, the rule of
        ``lamina_model_fit_mesh``), so C and Python fit alike. A diverging fit warns and
        returns the history so far (``on_divergence="warn"``) or raises
        (``on_divergence="raise"``); see :meth:`lamina.Trainer.fit`.
        Returns the :class:`~lamina.History` (one loss per epoch).
        """
        x = as_float32(points, "points").reshape(-1, self.input_dim)
        y = as_float32(sdf, "sdf").reshape(-1, 1)
        if x.shape[0] != y.shape[0]:
            raise InvalidArgumentError(f"{x.shape[0]} points but {y.shape[0]} sdf values")
        options = _fit_options(
            steps, batch_size, learning_rate, plane_learning_rate, loss, truncation, config
        )
        return self._fit_points(x, y, options, progress, on_divergence)

    def fit_occupancy(
        self,
        points: ArrayLike,
        occupancy: ArrayLike,
        steps: int = 1000,
        batch_size: int = 16384,
        learning_rate: float = 1e-3,
        plane_learning_rate: Optional[float] = None,
        progress: Any = True,
        on_divergence: str = "warn",
        **config: Any,
    ) -> Any:
        """Fit the field's output as an occupancy logit (BCE with logits; 1 = inside).

        The surface is then the 0 level set of the logit, so :meth:`extract_mesh` with the
        default ``level`` works; note the sign is opposite to an SDF's (inside is positive).
        Rates and the other arguments as :meth:`fit_sdf` (planes at ``learning_rate``
        unless ``plane_learning_rate`` is given).
        """
        x = as_float32(points, "points").reshape(-1, self.input_dim)
        y = as_float32(occupancy, "occupancy").reshape(-1, 1)
        if x.shape[0] != y.shape[0]:
            raise InvalidArgumentError(f"{x.shape[0]} points but {y.shape[0]} occupancy values")
        options = _fit_options(
            steps, batch_size, learning_rate, plane_learning_rate, "bce_with_logits", 0.0, config
        )
        return self._fit_points(x, y, options, progress, on_divergence)

    def fit_mesh(
        self,
        vertices: Any,
        faces: Optional[ArrayLike] = None,
        steps: int = 1000,
        batch_size: int = 16384,
        samples: int = 500_000,
        near_fraction: Optional[float] = None,
        sigma: Optional[float] = None,
        seed: int = 0,
        learning_rate: float = 1e-3,
        plane_learning_rate: Optional[float] = None,
        loss: str = "l1",
        truncation: float = 0.0,
        progress: Any = True,
        on_divergence: str = "warn",
        **config: Any,
    ) -> Any:
        """Fit the field to a closed triangle mesh's signed distance (``lamina_model_fit_mesh``).

        Draws ``samples`` training points (uniform in the field's box plus near-surface
        points, as :func:`lamina.sample_sdf_points` with ``near_fraction`` (0.5) and
        ``sigma`` (0.01); ``seed`` seeds them and the shuffling), takes their exact signed
        distances to the mesh, and trains as :meth:`fit_sdf` does: ``learning_rate`` for
        everything unless ``plane_learning_rate`` gives the planes their own. ``vertices``
        may be a :class:`~lamina.mesh.MeshHandle` (``faces=None``).
        Extra keyword arguments are further fit options (``sigma_far``, ``bounds``) and
        trainer config keys. Returns the :class:`~lamina.History`.
        """
        from .mesh_ops import _handle
        from .trainer import check_on_divergence, run_fit

        check_on_divergence(on_divergence)
        mesh = _handle(vertices, faces)
        options = _fit_options(
            steps, batch_size, learning_rate, plane_learning_rate, loss, truncation, config
        )
        options.update(samples=int(samples), seed=int(seed))
        if near_fraction is not None:
            options["near_fraction"] = near_fraction
        if sigma is not None:
            options["sigma"] = sigma
        text = to_json(options, "fit options").encode("utf-8")
        settings = self._fit_config(text, int(samples))
        lib = _library.lib()
        model = self._ptr

        def call(callback: Any, final_loss: Any) -> int:
            return lib.lamina_model_fit_mesh(model, mesh.ptr, text, callback, None, final_loss)

        return run_fit(call, int(settings["epochs"]), progress, on_divergence, settings)

    def _fit_config(self, options: bytes, n: int) -> Dict[str, Any]:
        """Return the trainer config the library's fit rule gives for ``n`` points."""
        return json.loads(
            _library.read_text(_library.lib().lamina_model_fit_config, self._ptr, options, n)
        )

    def _fit_points(
        self,
        x: np.ndarray,
        y: np.ndarray,
        options: Dict[str, Any],
        progress: Any,
        on_divergence: str,
    ) -> Any:
        from .trainer import Trainer, check_on_divergence

        check_on_divergence(on_divergence)
        if x.shape[0] == 0:
            raise InvalidArgumentError("fitting needs at least one point")
        settings = self._fit_config(to_json(options, "fit options").encode("utf-8"), x.shape[0])
        trainer = Trainer(self, **settings)
        try:
            return trainer.fit(x, y, progress=progress, on_divergence=on_divergence)
        finally:
            trainer.close()


def stack_fields(models: Sequence[Model], decoder: str = "per_field") -> TriplaneField:
    """One tri-plane model whose field k is ``models[k]`` (``lamina_model_field_stack``).

    Every model must be a single-field tri-plane field with the same spec but for ``seed``
    (the result takes ``models[0]``'s). ``decoder="per_field"`` (the default) gives each
    field its own model's decoder (``decoder_per_field``; MLP decoders only);
    ``decoder="shared"`` keeps one decoder and needs every model's decoder bit-identical.
    Raises :class:`~lamina.InvalidArgumentError` naming the first spec key or decoder that
    differs, and for an empty list.
    """
    items = list(models)
    if not items:
        raise InvalidArgumentError("stack_fields needs at least one model")
    for i, m in enumerate(items):
        if not isinstance(m, Model):
            raise InvalidArgumentError(f"models[{i}] is a {type(m).__name__}, not a lamina model")
    array = (ctypes.c_void_p * len(items))(*[m._ptr.value for m in items])
    options = to_json({"decoder": decoder}, "stack options").encode("utf-8")
    handle = ctypes.c_void_p()
    _library.check(
        _library.lib().lamina_model_field_stack(array, len(items), options, ctypes.byref(handle))
    )
    return TriplaneField._wrap(handle)  # type: ignore[return-value]


def _fit_options(
    steps: int,
    batch_size: int,
    learning_rate: float,
    plane_learning_rate: Optional[float],
    loss: str,
    truncation: float,
    config: Mapping[str, Any],
) -> Dict[str, Any]:
    """Return the fit options (``lamina_model_fit_mesh``'s JSON keys) of a Python fit call."""
    options: Dict[str, Any] = {
        "steps": steps,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "loss": loss,
        "truncation": truncation,
    }
    if plane_learning_rate is not None:
        options["plane_learning_rate"] = plane_learning_rate
    options.update(config)
    return options


register_kind("triplane", TriplaneField)
