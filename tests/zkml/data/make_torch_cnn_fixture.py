"""Regenerate the ``torch_digits_cnn_*.onnx`` fixtures (not run by the tests).

A LeNet-shaped CNN for sklearn's 8x8 digits, trained briefly on the first 1000 samples:
Conv 3x3 1->6 pad 1, ReLU, MaxPool 2, Conv 3x3 6->16 pad 1, BatchNorm, ReLU, MaxPool 2,
Flatten, Linear 64->32, ReLU, Linear 32->10.  The same trained network is exported four
ways, so the importer sees every form PyTorch writes:

* ``legacy``        TorchScript exporter (``dynamo=False``), opset 17, constant folding on
* ``legacy_nofold`` the same with ``do_constant_folding=False`` (BatchNormalization kept)
* ``dynamo``        ``dynamo=True``, opset 18, with the ONNX optimizer (folded graph)
* ``dynamo_noopt``  ``dynamo=True``, opset 18, ``optimize=False`` (the raw decomposition)

All take ``[N, 1, 8, 8]`` float inputs with a dynamic batch axis and output ``[N, 10]``
logits.  Needs torch (CPU), onnx and onnxscript, which are not project requirements::

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch onnx onnxscript scikit-learn
    /tmp/torchenv/bin/python tests/zkml/data/make_torch_cnn_fixture.py
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from torch import nn

DATA_DIR = Path(__file__).parent


def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def train() -> nn.Module:
    torch.manual_seed(0)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.tensor(y, dtype=torch.int64)
    x_train, y_train, x_test, y_test = x[:1000], y[:1000], x[1000:], y[1000:]
    net = lenet()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(40):
        net.train()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(x_train), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(net(x_train[idx]), y_train[idx]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        for name, xs, ys in (("train", x_train, y_train), ("test", x_test, y_test)):
            print(f"{name} accuracy {(net(xs).argmax(1) == ys).float().mean().item():.4f}")
    return net


def export(net: nn.Module, name: str, **kwargs) -> None:
    out = DATA_DIR / f"torch_digits_cnn_{name}.onnx"
    example = (torch.zeros(4, 1, 8, 8),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kwargs.pop("dynamo"):
            program = torch.onnx.export(net, example, dynamo=True, input_names=["input"],
                                        output_names=["logits"], external_data=False,
                                        dynamic_shapes=({0: torch.export.Dim("batch")},),
                                        **kwargs)
            program.save(str(out))
        else:
            torch.onnx.export(net, example, str(out), dynamo=False, input_names=["input"],
                              output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                              **kwargs)
    import onnx

    ops = [n.op_type for n in onnx.load(str(out)).graph.node]
    print(f"wrote {out.name} ({out.stat().st_size} bytes): {' '.join(ops)}")


def main() -> None:
    net = train()
    export(net, "legacy", dynamo=False, opset_version=17, do_constant_folding=True)
    export(net, "legacy_nofold", dynamo=False, opset_version=17, do_constant_folding=False)
    export(net, "dynamo", dynamo=True, opset_version=18, optimize=True)
    export(net, "dynamo_noopt", dynamo=True, opset_version=18, optimize=False)


if __name__ == "__main__":
    main()
