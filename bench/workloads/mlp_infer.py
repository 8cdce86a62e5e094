"""MLP inference of a 3-64-64-1 relu MLP: one-sample latency (from C and from Python) and
batch throughput on 1M points, Lamina against onnxruntime and PyTorch, all on the same
weights (Lamina's initial ones; the ONNX graph is built from them with onnx.helper)."""

from __future__ import annotations

import re
import subprocess
from typing import Any, Dict

import numpy as np

from .common import BUILD_BENCH, Runner, Workload, import_lamina, mlp_specs, torch_mlp_from, torch_setup

WIDTHS = [3, 64, 64, 1]


def onnx_session(state: Dict[str, np.ndarray], threads: int) -> Any:
    """An onnxruntime session of Gemm(transB)+Relu layers holding `state`'s weights."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, prev = [], [], "x"
    layers = sorted({k.split(".")[0] for k in state}, key=int)
    for i, key in enumerate(layers):
        inits += [numpy_helper.from_array(state[f"{key}.weight"], f"w{i}"),
                  numpy_helper.from_array(state[f"{key}.bias"], f"b{i}")]
        out = f"h{i}"
        nodes.append(helper.make_node("Gemm", [prev, f"w{i}", f"b{i}"], [out], transB=1))
        if i < len(layers) - 1:
            nodes.append(helper.make_node("Relu", [out], [out + "r"]))
            out += "r"
        prev = out
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", WIDTHS[0]])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["n", WIDTHS[-1]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def make_predictor(rows_full: int, rows_smoke: int) -> Any:
    """make(impl, smoke, threads) of predictions on `rows` rows per call."""

    def make(impl: str, smoke: bool, threads: int) -> Runner:
        rows = rows_smoke if smoke else rows_full
        lamina = import_lamina()
        model = lamina.Model(mlp_specs(WIDTHS))
        state = model.state_dict()
        x = np.random.default_rng(0).uniform(-1, 1, (rows, WIDTHS[0])).astype(np.float32)
        if impl == "lamina-c":
            binary = BUILD_BENCH / "mlp_predict_latency"

            def run_c(calls: int) -> float:
                out = subprocess.run([str(binary), str(max(calls, 1)), "1"], capture_output=True,
                                     text=True, check=True).stdout
                return float(re.search(r": ([0-9.]+) us", out).group(1)) * 1e-6 * calls

            return run_c
        if impl == "lamina-py":
            def run_py(calls: int) -> None:
                for _ in range(calls):
                    model.predict(x)

            run_py.keep = model  # type: ignore[attr-defined]
            return run_py
        if impl == "onnxruntime":
            sess = onnx_session(state, threads)
            feed = {"x": x}

            def run_ort(calls: int) -> None:
                for _ in range(calls):
                    sess.run(None, feed)

            return run_ort
        if impl == "pytorch":
            torch = torch_setup(threads)
            net = torch_mlp_from(state, WIDTHS).eval()
            tx = torch.from_numpy(x)

            def run_torch(calls: int) -> None:
                with torch.inference_mode():
                    for _ in range(calls):
                        net(tx)

            return run_torch
        raise ValueError(impl)

    return make


WORKLOADS = [
    Workload(
        name="mlp_latency", title="MLP 3-64-64-1 relu inference, one sample per call",
        impls=["lamina-c", "lamina-py", "onnxruntime", "pytorch"], lamina=["lamina-c", "lamina-py"],
        make=make_predictor(1, 1), items=lambda impl, smoke: 1, unit="calls/s",
        rss_from_child=["lamina-c"], min_calls=1000,
        notes="lamina-c: build/bench/mlp_predict_latency (a C loop of lamina_model_predict on "
              "one row; it times itself, its process start-up is not counted; peak RSS is the C "
              "process's). lamina-py: lamina.Model.predict on a (1, 3) numpy array (the binding's "
              "checks and ctypes call included). onnxruntime: InferenceSession.run from Python. "
              "PyTorch: module(x) under inference_mode from Python."),
    Workload(
        name="mlp_batch", title="MLP 3-64-64-1 relu inference, 1M points per call",
        impls=["lamina-py", "onnxruntime", "pytorch"],
        lamina=["lamina-py"],
        make=make_predictor(1_000_000, 4096), items=lambda impl, smoke: 4096 if smoke else 1_000_000,
        unit="points/s", notes="lamina.Model.predict on a (1M, 3) array (output allocated per call, "
                               "as onnxruntime and PyTorch do)."),
]
