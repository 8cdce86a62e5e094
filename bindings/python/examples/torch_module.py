"""A torch layer before a Lamina KAN, trained by a torch optimiser (needs torch).

``lamina.torch.Module`` makes a Lamina model a ``torch.nn.Module``: forward runs Lamina,
backward Lamina's vector-Jacobian call, and the parameters are torch tensors that
``state_dict`` saves with the rest of the network. Run from a checkout:

    LAMINA_LIBRARY=build/lib/liblamina.so PYTHONPATH=bindings/python \\
        python bindings/python/examples/torch_module.py
"""

import io

import torch

import lamina
import lamina.torch


def main():
    torch.manual_seed(0)
    x = torch.rand(256, 4) * 2 - 1
    y = torch.sin(x[:, :2].sum(1, keepdim=True)) * x[:, 2:3]
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 3), lamina.torch.Module(lamina.KAN(width=[3, 5, 1], grid=5, k=3))
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for step in range(301):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()
        if step % 100 == 0:
            print(f"step {step:3d}  mse {loss.item():.5f}")
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    print("state_dict keys:", ", ".join(list(net.state_dict())[:5]), "...")
    other_kan = lamina.KAN(width=[3, 5, 1], grid=5, k=3, seed=1)
    again = torch.nn.Sequential(torch.nn.Linear(4, 3), lamina.torch.Module(other_kan))
    buffer.seek(0)
    again.load_state_dict(torch.load(buffer))
    print("reloaded network gives the same outputs:", torch.equal(again(x), net(x)))


if __name__ == "__main__":
    main()
