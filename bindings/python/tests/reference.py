"""Hand-written numpy (float64) references for the parity tests: forward, input Jacobian,
back-propagation, losses and optimizers, as PyTorch defines them."""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softplus(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    bx = beta * x
    return np.where(bx > threshold, x, np.log1p(np.exp(np.minimum(bx, threshold))) / beta)


#: name used in the tests -> (spec value for "activation", numpy function).
ACTIVATIONS: Dict[str, Tuple[object, Callable[[np.ndarray], np.ndarray]]] = {
    "identity": ("identity", lambda x: x),
    "relu": ("relu", lambda x: np.maximum(x, 0.0)),
    "leaky_relu": ("leaky_relu", lambda x: np.where(x > 0, x, 0.01 * x)),
    "leaky_relu_0.2": (
        {"name": "leaky_relu", "negative_slope": 0.2},
        lambda x: np.where(x > 0, x, 0.2 * x),
    ),
    "elu": ("elu", lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))),
    "selu": (
        "selu",
        lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
    ),
    "celu": ("celu", lambda x: np.maximum(x, 0.0) + np.minimum(0.0, np.expm1(np.minimum(x, 0.0)))),
    "gelu": ("gelu", lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))),
    "gelu_tanh": (
        {"name": "gelu", "approximate": "tanh"},
        lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))),
    ),
    "silu": ("silu", lambda x: x * _sigmoid(x)),
    "swish": ("swish", lambda x: x * _sigmoid(x)),
    "mish": ("mish", lambda x: x * np.tanh(_softplus(x))),
    "softplus": ("softplus", _softplus),
    "tanh": ("tanh", np.tanh),
    "sigmoid": ("sigmoid", _sigmoid),
    "hardtanh": ("hardtanh", lambda x: np.clip(x, -1.0, 1.0)),
    "hardsigmoid": ("hardsigmoid", lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0)),
    "hardswish": ("hardswish", lambda x: x * np.clip(x / 6.0 + 0.5, 0.0, 1.0)),
    "softsign": ("softsign", lambda x: x / (1.0 + np.abs(x))),
    "sine": ("sine", lambda x: np.sin(30.0 * x)),
}


def derivative(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """f'(x) by a float64 central difference (accurate to ~1e-9 away from kinks)."""
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    return (f(x + h) - f(x - h)) / (2.0 * h)


class Net:
    """A dense network y = L_k(...act(L_1(x))) with torch's Linear (W is out x in)."""

    def __init__(
        self,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        act: Callable[[np.ndarray], np.ndarray],
        out_act: Callable[[np.ndarray], np.ndarray] = lambda x: x,
        acts: Sequence[Callable[[np.ndarray], np.ndarray]] = (),
    ) -> None:
        self.W = [np.asarray(w, np.float64).copy() for w in weights]
        self.b = [np.asarray(b, np.float64).copy() for b in biases]
        n = len(self.W)
        self.acts = list(acts) if acts else [act] * (n - 1) + [out_act]

    def forward(self, x: np.ndarray) -> Tuple[np.ndarray, List[np.ndarray], List[np.ndarray]]:
        a = np.asarray(x, np.float64)
        inputs, pres = [], []
        for W, b, f in zip(self.W, self.b, self.acts):
            inputs.append(a)
            z = a @ W.T + b
            pres.append(z)
            a = f(z)
        return a, inputs, pres

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)[0]

    def input_gradient(self, x: np.ndarray) -> np.ndarray:
        """n x out x in Jacobian."""
        a = np.asarray(x, np.float64)
        n, d = a.shape
        J = np.broadcast_to(np.eye(d), (n, d, d)).copy()
        for W, b, f in zip(self.W, self.b, self.acts):
            z = a @ W.T + b
            J = derivative(f, z)[:, :, None] * np.einsum("oi,nik->nok", W, J)
            a = f(z)
        return J

    def parameter_gradients(
        self, x: np.ndarray, dloss: Callable[[np.ndarray], np.ndarray]
    ) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """Gradients of a loss whose derivative w.r.t. the output is dloss(output)."""
        y, inputs, pres = self.forward(x)
        delta_a = dloss(y)
        gW: List[np.ndarray] = [None] * len(self.W)  # type: ignore[list-item]
        gb: List[np.ndarray] = [None] * len(self.W)  # type: ignore[list-item]
        for i in reversed(range(len(self.W))):
            delta = delta_a * derivative(self.acts[i], pres[i])
            gW[i] = delta.T @ inputs[i]
            gb[i] = delta.sum(axis=0)
            delta_a = delta @ self.W[i]
        return gW, gb


# ---- losses (reduction="mean" as in PyTorch) -------------------------------------------------
def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def loss_value(name: str, p: np.ndarray, t: np.ndarray, delta: float = 1.0) -> float:
    d = p - t
    if name == "mse":
        return float(np.mean(d * d))
    if name == "l1":
        return float(np.mean(np.abs(d)))
    if name == "huber":
        a = np.abs(d)
        return float(np.mean(np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))))
    if name == "bce_with_logits":
        return float(np.mean(np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p)))))
    if name == "cross_entropy":
        return float(np.mean(-(t * _log_softmax(p)).sum(axis=1)))
    raise ValueError(name)


def loss_gradient(
    name: str, t: np.ndarray, delta: float = 1.0
) -> Callable[[np.ndarray], np.ndarray]:
    def grad(p: np.ndarray) -> np.ndarray:
        d = p - t
        if name == "mse":
            return 2.0 * d / d.size
        if name == "l1":
            return np.sign(d) / d.size
        if name == "huber":
            return np.where(np.abs(d) < delta, d, delta * np.sign(d)) / d.size
        if name == "bce_with_logits":
            return (_sigmoid(p) - t) / d.size
        if name == "cross_entropy":
            return (np.exp(_log_softmax(p)) - t) / p.shape[0]
        raise ValueError(name)

    return grad


# ---- optimizers (torch.optim semantics) ------------------------------------------------------
class Optimizer:
    """SGD (momentum, nesterov), Adam and AdamW over a list of float64 arrays, as torch."""

    def __init__(
        self,
        kind: str,
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        clip_norm: float = 0.0,
    ) -> None:
        self.kind, self.lr, self.momentum, self.nesterov = kind, lr, momentum, nesterov
        self.beta1, self.beta2, self.eps, self.wd, self.clip = (
            beta1,
            beta2,
            eps,
            weight_decay,
            clip_norm,
        )
        self.t = 0
        self.state: Dict[int, Dict[str, np.ndarray]] = {}

    def step(self, params: List[np.ndarray], grads: List[np.ndarray]) -> None:
        self.t += 1
        grads = [g.copy() for g in grads]
        if self.clip > 0:
            total = math.sqrt(sum(float((g * g).sum()) for g in grads))
            coef = self.clip / (total + 1e-6)
            if coef < 1.0:
                grads = [g * coef for g in grads]
        for i, (p, g) in enumerate(zip(params, grads)):
            st = self.state.setdefault(i, {})
            if self.kind == "sgd":
                if self.wd:
                    g = g + self.wd * p
                if self.momentum:
                    buf = st.get("buf")
                    buf = g.copy() if buf is None else self.momentum * buf + g
                    st["buf"] = buf
                    g = g + self.momentum * buf if self.nesterov else buf
                p -= self.lr * g
            elif self.kind in ("adam", "adamw"):
                if self.kind == "adamw":
                    p *= 1.0 - self.lr * self.wd
                elif self.wd:
                    g = g + self.wd * p
                m = st.get("m", np.zeros_like(p))
                v = st.get("v", np.zeros_like(p))
                m = self.beta1 * m + (1 - self.beta1) * g
                v = self.beta2 * v + (1 - self.beta2) * g * g
                st["m"], st["v"] = m, v
                bc1 = 1 - self.beta1**self.t
                bc2 = 1 - self.beta2**self.t
                denom = np.sqrt(v) / math.sqrt(bc2) + self.eps
                p -= (self.lr / bc1) * m / denom
            else:
                raise ValueError(self.kind)
