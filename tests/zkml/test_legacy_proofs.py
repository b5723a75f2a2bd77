"""Proof files made by earlier versions of zkml still verify: published bundles stay checkable.
PROOF.bin 4 and 8, sharded 2 and 3, made before the proof's own tensors were opened together;
PROOF.bin 11 and sharded 4, made when their rows were at most 2^14 wide (tests/zkml/data/legacy,
written by make_legacy_proofs.py with the zkml of that time). New proofs are written as 13 /
sharded 9."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from zkml.errors import VerificationError
from zkml.formats.commitment import Commitment
from zkml.formats.proof import read_proof
from zkml.verifier import verify_sharded, verify_statement

LEGACY = Path(__file__).with_name("data") / "legacy"
FILES = [("mlp", "mlp_proof_v4.bin"), ("mlp", "mlp_sharded_v2.bin"),
         ("cnn", "cnn_proof_v8.bin"), ("cnn", "cnn_sharded_v3.bin"),
         ("mlp", "mlp_proof_v11.bin"), ("mlp", "mlp_sharded_v4.bin"),
         ("cnn", "cnn_proof_v11.bin"), ("cnn", "cnn_sharded_v4.bin")]


def _statement(kind: str):
    com = Commitment.from_bytes((LEGACY / f"{kind}_commitment.json").read_bytes())
    data = np.load(LEGACY / f"{kind}_data.npz")
    return com, data["x"], data["y"]


def _verify(com, x, y, proof) -> int:
    return (verify_sharded if hasattr(proof, "shards") else verify_statement)(com, x, y, proof)


@pytest.mark.parametrize("kind,name", FILES)
def test_a_legacy_proof_file_still_verifies(kind, name):
    com, x, y = _statement(kind)
    proof = read_proof((LEGACY / name).read_bytes())
    assert proof.version == int(name.split("_v")[1].split(".")[0])
    assert _verify(com, x, y, proof) == proof.claimed_count > 0


@pytest.mark.parametrize("kind,name", FILES)
def test_a_tampered_legacy_proof_is_rejected(kind, name):
    """A legacy proof goes through every check of its opening: a raised count, and bytes
    flipped in its last messages (the per-size openings), are rejected."""
    com, x, y = _statement(kind)
    raw = (LEGACY / name).read_bytes()
    proof = read_proof(raw)
    proof.claimed_count += 1
    with pytest.raises(VerificationError):
        _verify(com, x, y, proof)
    rng = random.Random(len(raw))
    for pos in sorted(rng.sample(range(len(raw) - 4000, len(raw)), 3)):
        bad = bytearray(raw)
        bad[pos] ^= 1 << rng.randrange(8)
        with pytest.raises(Exception) as info:
            _verify(com, x, y, read_proof(bytes(bad)))
        assert type(info.value).__name__ in ("VerificationError", "FormatError"), (pos, info.value)


def test_new_proofs_are_written_in_the_witness_opening_versions():
    from zkml.formats.proof import SHARDED_WIDE_ROWS_VERSION, WIDE_ROWS_VERSION
    from zkml.prover import prove_sharded, prove_statement
    from zkml_fixtures import tiny_data, tiny_model

    from zkml import commit

    model = tiny_model()
    commit(model, random.Random(0))
    x, y = tiny_data(model)
    assert prove_statement(model, x, y, rng=random.Random(1)).version == WIDE_ROWS_VERSION == 13
    assert prove_sharded(model, x, y, 3, rng=random.Random(1)).version == SHARDED_WIDE_ROWS_VERSION == 9
