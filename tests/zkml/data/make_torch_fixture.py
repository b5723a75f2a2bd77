"""Regenerate ``torch_digits_mlp.onnx`` (not run by the tests).

A small PyTorch MLP 64 -> 32 -> 10 (Flatten, Linear, ReLU, Linear) trained briefly on the
first 1000 samples of sklearn's digits, exported with the legacy TorchScript exporter
(``dynamo=False``, opset 17, dynamic batch axis).  Needs torch (CPU build), which is not a
project requirement:  pip install torch  &&  python tests/zkml/data/make_torch_fixture.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

OUT = Path(__file__).with_name("torch_digits_mlp.onnx")


def main() -> None:
    torch.manual_seed(0)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x[:1000], dtype=torch.float32).reshape(-1, 1, 8, 8)  # images -> Flatten
    y = torch.tensor(y[:1000], dtype=torch.int64)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(30):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        acc = (net(x).argmax(1) == y).float().mean().item()
    print(f"train accuracy {acc:.4f}")
    torch.onnx.export(net, (x[:1],), str(OUT), dynamo=False, opset_version=17,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
