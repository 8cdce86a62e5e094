"""Fit a dataset of shapes, one field per shape, on this machine or a Ray cluster.

Example::

    from lamina import dataset

    run = dataset.fit_dataset("shapes/", "fitted/", steps=1000, chunk_size=8)
    print(run.done, run.failed)               # manifest: fitted/manifest.jsonl
    dataset.export_planes("fitted/")          # fitted/planes.npy, [N, 3, C, R, R]

    # the same tasks on a Ray cluster (pip install 'lamina[ray]'):
    dataset.fit_dataset("shapes/", "fitted/", executor="ray", ray_address="auto", resume=True)

See :func:`fit_dataset` for the settings, the output folder and what happens on faults.
"""

from __future__ import annotations

from .driver import DatasetRun, fit_dataset
from .export import export_planes, stacked_planes
from .manifest import read_manifest
from .settings import FitSettings
from .sources import ShapeSource, find_shapes, load_shape, read_shape, read_stl, write_stl
from .work import to_source_frame

__all__ = [
    "DatasetRun",
    "FitSettings",
    "ShapeSource",
    "export_planes",
    "find_shapes",
    "fit_dataset",
    "load_shape",
    "read_manifest",
    "read_shape",
    "read_stl",
    "stacked_planes",
    "to_source_frame",
    "write_stl",
]
