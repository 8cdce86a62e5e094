"""The ``lamina`` command: fit, mesh, inspect and slice fields from a shell.

``lamina fit-mesh``, ``mesh``, ``fit-dataset``, ``export-planes``, ``info`` and ``slice``;
``lamina COMMAND --help`` says what each takes. Exit codes: 0 success; 1 an error (the
message on stderr, prefixed ``lamina: error:``); 2 a usage error (argparse's); 3 a dataset
run that finished with failed shapes (listed in its manifest); 130 interrupted. Progress
bars go to stderr; results are printed on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

__all__ = ["main"]

#: Exit status of a dataset run that finished with failed shapes.
EXIT_FAILED_SHAPES = 3


def _settings_arguments(parser: argparse.ArgumentParser) -> None:
    """The fit settings every fitting command takes (defaults: FitSettings's)."""
    from .dataset import FitSettings

    d = FitSettings()
    group = parser.add_argument_group("field and fit")
    group.add_argument(
        "--resolution", type=int, default=d.resolution, help="texels per plane side (%(default)s)"
    )
    group.add_argument(
        "--channels", type=int, default=d.channels, help="features per texel (%(default)s)"
    )
    group.add_argument(
        "--fourier",
        type=int,
        default=d.fourier,
        help="positional-encoding frequencies (%(default)s)",
    )
    group.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=list(d.hidden),
        help="decoder widths (%(default)s)",
    )
    group.add_argument(
        "--activation", default=d.activation, help="decoder activation (%(default)s)"
    )
    group.add_argument("--steps", type=int, default=d.steps, help="optimizer steps (%(default)s)")
    group.add_argument(
        "--batch-size",
        type=int,
        default=d.batch_size,
        help="points per step per shape (%(default)s)",
    )
    group.add_argument(
        "--samples", type=int, default=d.samples, help="training points per shape (%(default)s)"
    )
    group.add_argument(
        "--learning-rate", type=float, default=d.learning_rate, help="Adam's rate (%(default)s)"
    )
    group.add_argument(
        "--seed", type=int, default=d.seed, help="seed of weights and samples (%(default)s)"
    )


def _settings(args: argparse.Namespace, **extra: Any) -> Any:
    from .dataset import FitSettings

    return FitSettings(
        resolution=args.resolution,
        channels=args.channels,
        fourier=args.fourier,
        hidden=args.hidden,
        activation=args.activation,
        steps=args.steps,
        batch_size=args.batch_size,
        samples=args.samples,
        learning_rate=args.learning_rate,
        seed=args.seed,
        **extra,
    )


# ---- commands ---------------------------------------------------------------------------------
def _fit_mesh(args: argparse.Namespace) -> int:
    from .dataset.manifest import write_atomic
    from .dataset.sources import ShapeSource, load_shape
    from .dataset.work import fit_shape, to_source_frame
    from .model import Model

    settings = _settings(args, score=args.score, meshes=False, chunk_size=1)
    source = ShapeSource(Path(args.shape).stem, args.shape)
    shape = load_shape(source, settings.fill)
    _say(f"fitting {args.shape} ({len(shape.vertices)} vertices, {settings.steps} steps)")
    result = fit_shape(
        shape.task_entry(),
        settings,
        progress=not args.quiet,
    )
    if result["status"] != "done":
        raise _Failure(f"{args.shape}: {result['error']}")
    field = Model.from_bytes(result["model"])
    if not args.normalized:
        field = to_source_frame(field, shape.center, shape.scale)
    write_atomic(Path(args.output), field.to_bytes())
    report: Dict[str, Any] = {
        "output": args.output,
        "loss": result.get("loss"),
        "seconds": round(result["seconds"], 3),
    }
    if result.get("metrics"):
        report["metrics"] = result["metrics"]
    print(json.dumps(report))
    return 0


def _mesh(args: argparse.Namespace) -> int:
    from .mesh_ops import save_mesh
    from .model import load

    field = load(args.model)
    if not hasattr(field, "extract_mesh"):
        raise _Failure(f"{args.model}: a {field.spec.get('kind')} model is not a tri-plane field")
    vertices, faces = field.extract_mesh(args.resolution, level=args.level, field=args.field)
    if len(faces) == 0:
        raise _Failure(f"{args.model}: the field has no surface at level {args.level}")
    save_mesh(args.output, vertices, faces)
    print(json.dumps({"output": args.output, "vertices": len(vertices), "faces": len(faces)}))
    return 0


def _fit_dataset(args: argparse.Namespace) -> int:
    from .dataset import export_planes, fit_dataset

    settings = _settings(
        args,
        chunk_size=args.chunk_size,
        decoder=args.decoder,
        meshes=args.meshes,
        score=args.score,
    )
    inputs = (
        args.inputs[0] if len(args.inputs) == 1 and Path(args.inputs[0]).is_dir() else args.inputs
    )
    run = fit_dataset(
        inputs,
        args.output,
        settings,
        executor=args.executor,
        workers=args.workers,
        threads=args.threads,
        resume=args.resume,
        retries=args.retries,
        ray_address=args.ray_address,
        progress=not args.quiet,
    )
    summary: Dict[str, Any] = {
        "output": str(run.output),
        "done": run.done,
        "failed": run.failed,
        "skipped": run.skipped,
        "seconds": round(run.seconds, 3),
    }
    if args.export and run.done + run.skipped > 0:
        summary["planes"] = str(export_planes(args.output, args.export))
    print(json.dumps(summary))
    for row in run.failures:
        _say(f"failed: {row['shape']}: {row['error']}")
    return EXIT_FAILED_SHAPES if run.failed else 0


def _export_planes(args: argparse.Namespace) -> int:
    from .dataset import export_planes

    print(json.dumps({"output": str(export_planes(args.run, args.output))}))
    return 0


def _info(args: argparse.Namespace) -> int:
    from .model import load

    model = load(args.model)
    tensors = {name: list(model._tensor_shape(name)) for name in model.tensor_names()}
    info = {
        "kind": model.spec.get("kind"),
        "input": model.input_dim,
        "output": model.output_dim,
        "parameters": model.parameter_count,
        "tensors": tensors,
        "spec": model.spec,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(
        f"{args.model}: {info['kind']}, {info['input']} -> {info['output']}, "
        f"{info['parameters']} parameters"
    )
    for name, shape in tensors.items():
        print(f"  {name:<24} {' x '.join(str(s) for s in shape)}")
    print("spec: " + json.dumps(model.spec))
    return 0


def _slice(args: argparse.Namespace) -> int:
    from .model import load

    field = load(args.model)
    if not hasattr(field, "save_slice"):
        raise _Failure(f"{args.model}: a {field.spec.get('kind')} model is not a tri-plane field")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise _Failure("lamina slice draws with matplotlib: pip install 'lamina[plot]'") from None
    field.save_slice(args.output, axis=args.axis, offset=args.offset, resolution=args.resolution)
    print(json.dumps({"output": args.output}))
    return 0


# ---- the parser -------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="lamina",
        description="Fit, mesh and inspect Lamina neural fields.",
        epilog="Exit codes: 0 success, 1 error, 2 usage, 3 a dataset run with failed shapes.",
    )
    parser.add_argument("--version", action="version", version=f"lamina {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    p = commands.add_parser(
        "fit-mesh",
        help="fit a field to one mesh's signed distance",
        description="Fit a tri-plane field to a mesh (.obj, .ply, .stl) and "
        "save it; the field is in the mesh's own coordinates unless --normalized.",
    )
    p.add_argument("shape", help="the mesh file")
    p.add_argument("-o", "--output", required=True, help="the model file to write (.safetensors)")
    p.add_argument(
        "--normalized",
        action="store_true",
        help="keep the field in the normalised box [-1, 1]^3 instead of the mesh's frame",
    )
    p.add_argument(
        "--no-score", dest="score", action="store_false", help="skip IoU, Chamfer and F-score"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _settings_arguments(p)
    p.set_defaults(run=_fit_mesh)

    p = commands.add_parser(
        "mesh",
        help="extract a field's surface with marching cubes",
        description="Marching cubes on a saved field; writes .ply or .obj.",
    )
    p.add_argument("model", help="a saved tri-plane field")
    p.add_argument("-o", "--output", required=True, help="the mesh file to write (.ply or .obj)")
    p.add_argument("--resolution", type=int, default=256, help="samples per axis (%(default)s)")
    p.add_argument("--level", type=float, default=0.0, help="the iso-level (%(default)s)")
    p.add_argument("--field", type=int, default=None, help="which field of a many-field model")
    p.set_defaults(run=_mesh)

    p = commands.add_parser(
        "fit-dataset",
        help="fit one field per shape of a folder",
        description="Fit every shape under INPUTS (a folder, or files) to its own "
        "field; writes OUTPUT/shapes/*.safetensors and OUTPUT/manifest.jsonl.",
    )
    p.add_argument("inputs", nargs="+", help="a folder of shapes, or shape files")
    p.add_argument("-o", "--output", required=True, help="the output folder")
    p.add_argument(
        "--executor",
        choices=["local", "ray", "inline"],
        default="local",
        help="where tasks run (%(default)s)",
    )
    p.add_argument("--workers", type=int, default=None, help="local processes (cores / threads)")
    p.add_argument("--threads", type=int, default=1, help="threads per task (%(default)s)")
    p.add_argument(
        "--ray-address", default=None, help="the Ray cluster (RAY_ADDRESS, else a local Ray)"
    )
    p.add_argument("--resume", action="store_true", help="continue the run in OUTPUT")
    p.add_argument(
        "--retries", type=int, default=2, help="resubmissions after a worker dies (%(default)s)"
    )
    p.add_argument(
        "--chunk-size", type=int, default=8, help="shapes per many-field fit (%(default)s)"
    )
    p.add_argument(
        "--decoder",
        choices=["shared", "per_shape"],
        default="shared",
        help="one decoder per chunk, or one per shape (%(default)s)",
    )
    p.add_argument("--meshes", action="store_true", help="also write each field's mesh")
    p.add_argument("--no-score", dest="score", action="store_false", help="skip scoring")
    p.add_argument(
        "--export",
        default=None,
        metavar="PATH",
        help="write the stacked planes (.npy or .safetensors) when done",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _settings_arguments(p)
    p.set_defaults(run=_fit_dataset)

    p = commands.add_parser(
        "export-planes",
        help="stack a dataset run's planes into one array",
        description="Write every done shape's planes as [N, 3, C, R, R].",
    )
    p.add_argument("run", help="the output folder of fit-dataset")
    p.add_argument(
        "-o", "--output", default=None, help="the .npy or .safetensors file (RUN/planes.npy)"
    )
    p.set_defaults(run=_export_planes)

    p = commands.add_parser(
        "info",
        help="print a model's spec, tensors and parameter count",
        description="Describe a saved model.",
    )
    p.add_argument("model", help="a saved model (.safetensors)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_info)

    p = commands.add_parser(
        "slice",
        help="draw a slice of a field as a PNG",
        description="Draw the field on a plane through its box (needs matplotlib).",
    )
    p.add_argument("model", help="a saved tri-plane field")
    p.add_argument("-o", "--output", required=True, help="the PNG to write")
    p.add_argument(
        "--axis", choices=["x", "y", "z"], default="z", help="the plane's normal (%(default)s)"
    )
    p.add_argument("--offset", type=float, default=0.0, help="where along the axis (%(default)s)")
    p.add_argument("--resolution", type=int, default=256, help="pixels per side (%(default)s)")
    p.set_defaults(run=_slice)
    return parser


class _Failure(Exception):
    """An error to report as ``lamina: error: ...`` with exit status 1."""


def _say(message: str) -> None:
    print(f"lamina: {message}", file=sys.stderr, flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    from .errors import LaminaError

    parser = _parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except (_Failure, LaminaError, OSError, ImportError) as error:
        print(f"lamina: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
