"""Regenerate the ``torch_digits_cnn_*.onnx`` fixtures (not run by the tests).

A LeNet-shaped CNN for sklearn's 8x8 digits, trained briefly on the first 1000 samples:
Conv 3x3 1->6 pad 1, ReLU, MaxPool 2, Conv 3x3 6->16 pad 1, BatchNorm, ReLU, MaxPool 2,
Flatten, Linear 64->32, ReLU, Linear 32->10.  The same trained network is exported four
ways, so the importer sees every form PyTorch writes:

* ``legacy``        TorchScript exporter (``dynamo=False``), opset 17, constant folding on
* ``legacy_nofold`` the same with ``do_constant_folding=False`` (BatchNormalization kept)
* ``dynamo``        ``dynamo=True``, opset 18, with the ONNX optimizer (folded graph)
* ``dynamo_noopt``  ``dynamo=True``, opset 18, ``optimize=False`` (the raw decomposition)

A second network, ``torch_digits_cnn_variant_*.onnx``, covers the other forms a PyTorch
CNN takes: Conv 3x3 1->8 stride 2 padding 1, MaxPool 2 stride 1 *before* its ReLU, a
bias-less Conv 2x3 with padding (1, 0), BatchNorm2d, MaxPool 3 stride 2 pad 1,
``x.view(x.size(0), -1)``, Linear, BatchNorm1d, ReLU, Linear.  It is exported with the
TorchScript exporter without constant folding (``legacy_nofold``), with dynamo at opset 20
without the optimizer (``dynamo20_noopt``: a zero bias built from Shape/Expand/CastLike and
the batch size from Shape/Squeeze/Concat) and with dynamo at opset 18 with a static batch
of 4 (``dynamo_static``).

A third network, ``torch_digits_cnn_avg_*.onnx``, uses average pooling: Conv 3x3 1->8 pad 1,
ReLU, AvgPool 2, Conv 3x3 8->32 pad 1, BatchNorm2d, ReLU, AdaptiveAvgPool2d(1), Flatten,
Linear 32->10; exported with the TorchScript exporter (``avg_legacy``: AveragePool and
GlobalAveragePool) and with dynamo at opset 18 (``avg_dynamo``: ReduceMean for the global
pooling) and without its optimizer (``avg_dynamo_noopt``).

A fourth network, ``torch_digits_cnn_res_*.onnx``, has a ResNet basic block: Conv 3x3 1->8
pad 1, BatchNorm2d, ReLU, then Conv 3x3 8->8, BatchNorm2d, ReLU, Conv 3x3 8->8, BatchNorm2d,
``+ x`` (identity skip), ReLU, then MaxPool 2, Flatten, Linear 128->10; exported with the
TorchScript exporter (``res_legacy``) and with dynamo at opset 18 without its optimizer
(``res_dynamo_noopt``: BatchNormalization nodes kept).

A fifth network, ``torch_digits_cnn_proj_*.onnx``, has a downsampling ResNet block with a
projection shortcut: Conv 3x3 1->8 pad 1, BatchNorm2d, ReLU, then Conv 3x3 8->16 stride 2
pad 1, BatchNorm2d, ReLU, Conv 3x3 16->16 pad 1, BatchNorm2d, ``+ shortcut(x)`` with the
shortcut a bias-less Conv 1x1 8->16 stride 2 and BatchNorm2d, ReLU, then Flatten, Linear
256->10; exported with the TorchScript exporter (``proj_legacy``) and with dynamo at opset 18
without its optimizer (``proj_dynamo_noopt``). ``python make_torch_cnn_fixture.py proj``
writes only these two.

All take ``[N, 1, 8, 8]`` float inputs with a dynamic batch axis (except ``dynamo_static``)
and output ``[N, 10]`` logits.  Needs torch (CPU), onnx and onnxscript, which are not project requirements::

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


class Variant(nn.Module):
    """The variant network (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(8, 16, (2, 3), padding=(1, 0), bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(16 * 2 * 1, 32)
        self.bn3 = nn.BatchNorm1d(32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(nn.functional.max_pool2d(self.conv1(x), 2, 1))      # 8x3x3
        x = torch.relu(self.bn2(self.conv2(x)))                            # 16x4x1
        x = nn.functional.max_pool2d(x, 3, 2, padding=1)                   # 16x2x1
        x = x.view(x.size(0), -1)
        return self.fc2(torch.relu(self.bn3(self.fc1(x))))


def avg_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(8, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(32, 10))


class ResNetBlockNet(nn.Module):
    """The residual network (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.conv1 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8))
        self.head = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(self.conv2(self.conv1(x)) + x)
        return self.head(x)


class ProjBlockNet(nn.Module):
    """The projection-shortcut network (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.conv1 = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16))
        self.shortcut = nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(256, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(self.conv2(self.conv1(x)) + self.shortcut(x))
        return self.head(x)


def train(make_net) -> nn.Module:
    torch.manual_seed(0)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.tensor(y, dtype=torch.int64)
    x_train, y_train, x_test, y_test = x[:1000], y[:1000], x[1000:], y[1000:]
    net = make_net()
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


def export(net: nn.Module, name: str, dynamo: bool, static_batch: bool = False,
           **kwargs) -> None:
    out = DATA_DIR / f"torch_digits_cnn_{name}.onnx"
    example = (torch.zeros(4, 1, 8, 8),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            dynamic = None if static_batch else ({0: torch.export.Dim("batch")},)
            program = torch.onnx.export(net, example, dynamo=True, input_names=["input"],
                                        output_names=["logits"], external_data=False,
                                        dynamic_shapes=dynamic, **kwargs)
            program.save(str(out))
        else:
            torch.onnx.export(net, example, str(out), dynamo=False, input_names=["input"],
                              output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                              **kwargs)
    import onnx

    ops = [n.op_type for n in onnx.load(str(out)).graph.node]
    print(f"wrote {out.name} ({out.stat().st_size} bytes): {' '.join(ops)}")


def main(only: str | None = None) -> None:
    if only == "proj":
        net = train(ProjBlockNet)
        export(net, "proj_legacy", dynamo=False, opset_version=17, do_constant_folding=True)
        export(net, "proj_dynamo_noopt", dynamo=True, opset_version=18, optimize=False)
        return
    net = train(lenet)
    export(net, "legacy", dynamo=False, opset_version=17, do_constant_folding=True)
    export(net, "legacy_nofold", dynamo=False, opset_version=17, do_constant_folding=False)
    export(net, "dynamo", dynamo=True, opset_version=18, optimize=True)
    export(net, "dynamo_noopt", dynamo=True, opset_version=18, optimize=False)
    net = train(Variant)
    export(net, "variant_legacy_nofold", dynamo=False, opset_version=17,
           do_constant_folding=False)
    export(net, "variant_dynamo20_noopt", dynamo=True, opset_version=20, optimize=False)
    export(net, "variant_dynamo_static", dynamo=True, static_batch=True, opset_version=18,
           optimize=True)
    net = train(avg_net)
    export(net, "avg_legacy", dynamo=False, opset_version=17, do_constant_folding=True)
    export(net, "avg_dynamo", dynamo=True, opset_version=18, optimize=True)
    export(net, "avg_dynamo_noopt", dynamo=True, opset_version=18, optimize=False)
    net = train(ResNetBlockNet)
    export(net, "res_legacy", dynamo=False, opset_version=17, do_constant_folding=True)
    export(net, "res_dynamo_noopt", dynamo=True, opset_version=18, optimize=False)
    main("proj")


if __name__ == "__main__":
    import sys

    main(sys.argv[1] if len(sys.argv) > 1 else None)
