"""Writes the proofs in tests/zkml/data/legacy/: files made by earlier versions of zkml, which
the verifier must keep accepting (published bundles). Proof formats 4 (a dense network) and 8 (a
convolutional one), sharded 2 and 3, made before the proof's own tensors were opened together,
by the zkml of commit 1cb674e; formats 11 and sharded 4, whose witness rows were at most 2^14
wide, by the zkml of commit f502062. Run once with that zkml on the path (it also rewrites the
commitments and data, which come out the same):

    git worktree add /tmp/old 1cb674e && PYTHONPATH=/tmp/old python make_legacy_proofs.py
    git worktree add /tmp/old11 f502062 && PYTHONPATH=/tmp/old11 python make_legacy_proofs.py
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
