"""The verifier stands alone: verifying a proof loads no prover module and no ONNX library,
and runs on the pure-Python field and curve code (the compiled kernels and the arkworks
backend are optional speed-ups whose results are byte-identical, tested elsewhere)."""
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np

from zkml.formats.opening import commit
from zkml.formats.data import save_dataset
from zkml.formats.model import ConvLayer, DenseLayer, MaxPoolLayer, QuantizedModel, Requant
from zkml.prover import prove_statement

ROOT = Path(__file__).resolve().parents[2]
PROVER_SIDE = {"zkml.prover", "zkml.protocols.sumcheck_prover", "zkml.protocols.logup_prover", "onnx", "onnxruntime", "sklearn"}
COMPILED = {"zkml.arith.frvec_native", "zkml.arith.g1_native", "zkml.native", "py_arkworks_bls12381"}

VERIFY = """
import json, sys
import zkml
from zkml.formats.data import load_dataset
commitment = zkml.Commitment.load(sys.argv[1])
proof = zkml.Proof.load(sys.argv[3])
count = zkml.verify(commitment, load_dataset(sys.argv[2]), proof)
print(json.dumps({"count": count, "modules": sorted(sys.modules)}))
"""


def test_verification_loads_no_prover_module_and_no_compiled_code(tmp_path):
    rng = np.random.default_rng(0)
    model = QuantizedModel((1, 4, 4), 0.1, 3, [
        ConvLayer(rng.integers(-127, 128, (2, 1, 3, 3)), rng.integers(-500, 500, 2), (1, 1), (1, 1, 1, 1),
                  Requant(40, 12)),
        MaxPoolLayer((2, 2), (2, 2), (0, 0, 0, 0)),
        DenseLayer(rng.integers(-127, 128, (3, 8)), rng.integers(-100, 100, 3), None)], [1.0] * 3)
    x = rng.random((4, 1, 4, 4), dtype=np.float32) * 12
    y = model.predict(x)
    commitment = commit(model, random.Random(1))
    proof = prove_statement(model, model.quantize_input(x), y, rng=random.Random(2))
    commitment.save(tmp_path / "c.json")
    (tmp_path / "p.bin").write_bytes(proof.to_bytes())
    save_dataset(tmp_path / "d.npz", x, y)
    env = dict(os.environ, PYTHONPATH=str(ROOT), ZKML_FRVEC="python", ZKML_BACKEND="py_ecc")
    out = subprocess.run([sys.executable, "-c", VERIFY, str(tmp_path / "c.json"), str(tmp_path / "d.npz"),
                          str(tmp_path / "p.bin")], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["count"] == int(np.sum(model.predict(x) == y)) == 4
    loaded = set(result["modules"])
    assert "zkml.verifier" in loaded and "zkml.layers.conv" in loaded
    assert not loaded & PROVER_SIDE, loaded & PROVER_SIDE
    assert not loaded & COMPILED, loaded & COMPILED
