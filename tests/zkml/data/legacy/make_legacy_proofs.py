"""Writes the proofs in tests/zkml/data/legacy/: files made by zkml before the proof's own
tensors were opened together (proof format 4 for a dense network, 8 for a convolutional one;
sharded formats 2 and 3), which the verifier must keep accepting (published bundles). Run once
with the zkml of commit 1cb674e on the path:

    git worktree add /tmp/old 1cb674e && PYTHONPATH=/tmp/old python make_legacy_proofs.py
"""
import importlib.util
import random
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TESTS = HERE.parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    from zkml import commit
    from zkml.prover import prove_sharded, prove_statement
    fixtures = _load("zkml_fixtures", TESTS / "fixtures.py")
    joint = _load("legacy_joint", TESTS / "test_joint_layout.py")
    mlp = fixtures.tiny_model()
    cnn = joint.odd_cnn(3)
    for name, model, (x, y) in (("mlp", mlp, fixtures.tiny_data(mlp, n=6)), ("cnn", cnn, joint._data(cnn, 9))):
        com = commit(model, random.Random(1))
        (HERE / f"{name}_commitment.json").write_bytes(com.to_bytes())
        np.savez(HERE / f"{name}_data.npz", x=x, y=y)
        proof = prove_statement(model, x, y, rng=random.Random(2))
        (HERE / f"{name}_proof_v{proof.version}.bin").write_bytes(proof.to_bytes())
        sharded = prove_sharded(model, x, y, 4, rng=random.Random(3))
        (HERE / f"{name}_sharded_v{sharded.version}.bin").write_bytes(sharded.to_bytes())
        print(name, proof.version, sharded.version, len(proof.to_bytes()), len(sharded.to_bytes()))


if __name__ == "__main__":
    main()
