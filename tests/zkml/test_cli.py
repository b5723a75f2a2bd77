"""The four CLI steps as a participant runs them, on an sklearn and a PyTorch export."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zkml.formats.data import save_dataset

ROOT = Path(__file__).resolve().parents[2]


def run(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "zkml", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def four_steps(tmp_path, onnx_bytes: bytes, calibration, test) -> tuple[str, int]:
    """quantize, commit, prove, verify in tmp_path; returns quantize's output and checks that
    verify printed the integer model's count. calibration and test are (x, y)."""
    import zkml
    (tmp_path / "model.onnx").write_bytes(onnx_bytes)
    save_dataset(tmp_path / "cal.npz", *calibration)
    save_dataset(tmp_path / "test.npz", *test)
    quantized = run("quantize", "model.onnx", "--calibration", "cal.npz", "--out", "m.zkm", cwd=tmp_path)
    assert quantized.returncode == 0, quantized.stderr
    assert "float (onnxruntime)" in quantized.stdout and "integer" in quantized.stdout
    assert run("commit", "m.zkm", "--out", "c.json", cwd=tmp_path).returncode == 0
    out = run("prove", "m.zkm", "--dataset", "test.npz", "--out", "p.bin", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = run("verify", "--commitment", "c.json", "--dataset", "test.npz", "--proof", "p.bin", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    x, y = test
    n = len(y)
    expected = int(np.sum(zkml.QuantizedModel.load(tmp_path / "m.zkm").predict(x) == y))
    assert f"verified: {expected}/{n} correct ({100 * expected / n:.2f}%)" in out.stdout
    return quantized.stdout, expected


@pytest.mark.parametrize("source", ["sklearn", "torch"])
def test_quantize_commit_prove_verify(tmp_path, digits, digits_onnx, source):
    import zkml_fixtures
    x_train, y_train, x_test, y_test = digits
    onnx_bytes = digits_onnx if source == "sklearn" else zkml_fixtures.torch_mlp_onnx()
    four_steps(tmp_path, onnx_bytes, (x_train, y_train), (x_test[:120], y_test[:120]))

    # A tampered proof: non-zero exit, a reason, no traceback.
    raw = bytearray((tmp_path / "p.bin").read_bytes())
    raw[len(raw) // 2] ^= 0x10
    (tmp_path / "bad.bin").write_bytes(bytes(raw))
    out = run("verify", "--commitment", "c.json", "--dataset", "test.npz", "--proof", "bad.bin", cwd=tmp_path)
    assert out.returncode != 0
    assert out.stderr.startswith("error:") and "Traceback" not in out.stderr


def test_cli_errors_are_clear(tmp_path):
    from onnx import TensorProto, helper
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv1")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 2, 2])],
                              [helper.make_tensor("w", TensorProto.FLOAT, [1, 1, 3, 3], [0.1] * 9)])
    (tmp_path / "conv.onnx").write_bytes(helper.make_model(graph).SerializeToString())
    save_dataset(tmp_path / "cal.npz", np.zeros((4, 1, 4, 4), np.float32), np.zeros(4, np.int64))
    out = run("quantize", "conv.onnx", "--calibration", "cal.npz", "--out", "m.zkm", cwd=tmp_path)
    assert out.returncode != 0 and "Conv" in out.stderr and "conv1" in out.stderr
    assert "Traceback" not in out.stderr
    out = run("verify", "--commitment", "missing.json", "--dataset", "cal.npz", "--proof", "p.bin", cwd=tmp_path)
    assert out.returncode != 0 and "Traceback" not in out.stderr and "missing.json" in out.stderr
    (tmp_path / "junk.json").write_text("{not json")
    out = run("verify", "--commitment", "junk.json", "--dataset", "cal.npz", "--proof", "p.bin", cwd=tmp_path)
    assert out.returncode != 0 and "not valid JSON" in out.stderr


@pytest.mark.parametrize("fixture", ["torch_digits_cnn_dynamo.onnx", "torch_digits_cnn_res_legacy.onnx"])
def test_cnn_through_the_four_cli_steps(tmp_path, digits, fixture):
    """A PyTorch LeNet-shaped CNN and a residual CNN (images [1, 8, 8]): quantize, commit,
    prove, verify from the command line; the verified count is the integer model's."""
    import zkml_fixtures
    x_train, y_train, x_test, y_test = digits
    images = lambda x: x.reshape(-1, 1, 8, 8)  # noqa: E731
    quantized, expected = four_steps(tmp_path, (zkml_fixtures.DATA_DIR / fixture).read_bytes(),
                                     (images(x_train), y_train), (images(x_test[:100]), y_test[:100]))
    assert "conv3x3" in quantized
    assert expected >= 85
