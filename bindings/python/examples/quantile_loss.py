"""A loss Lamina does not have, from numpy: fit the 0.1, 0.5 and 0.9 quantiles of noisy data.

Each step predicts, computes the pinball loss's gradient dL/dy with numpy and hands it to
``Trainer.step_vjp``; ``Model.vjp`` would give dL/dx the same way. Run from a checkout:

    LAMINA_LIBRARY=build/lib/liblamina.so PYTHONPATH=bindings/python \\
        python bindings/python/examples/quantile_loss.py
"""

import numpy as np

import lamina


def pinball(y, t, tau):
    """The pinball loss mean(max(tau r, (tau - 1) r)), r = t - y, and its dL/dy."""
    r = t - y
    loss = float(np.mean(np.where(r >= 0, tau * r, (tau - 1) * r)))
    dy = np.where(y > t, 1 - tau, np.where(y < t, -tau, 0)) / y.size
    return loss, dy.astype(np.float32)


def main():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (512, 1)).astype(np.float32)
    # Noise uniform in [-0.5, 0.5]: the tau quantile is sin(2x) + tau - 0.5.
    t = (np.sin(2 * x) + rng.uniform(-0.5, 0.5, x.shape)).astype(np.float32)
    for tau in (0.1, 0.5, 0.9):
        model = lamina.MLP(1, [16], 1, activation="tanh", seed=1)
        trainer = lamina.Trainer(model, optimizer="adam", learning_rate=0.02)
        for _ in range(500):
            loss, dy = pinball(model.predict(x), t, tau)
            trainer.step_vjp(x, dy)
        y = model.predict(x)
        error = np.mean(np.abs(y - (np.sin(2 * x) + tau - 0.5)))
        print(
            f"tau {tau}: pinball loss {pinball(y, t, tau)[0]:.4f}, {np.mean(t < y):.2f} of the"
            f" targets below the fit, mean distance to the true quantile {error:.3f}"
        )


if __name__ == "__main__":
    main()
