"""Sharded proofs (docs/protocol.md, "Shards"): one proof per range of samples, each hiding its
count in a Pedersen commitment; the total opens their product. Honest proofs verify with the
same count as one whole proof; every attack on the container, a shard or the sum is rejected
with a reason."""
import dataclasses
import random

import numpy as np
import pytest

import zkml
from zkml.__main__ import main
from zkml.arith.curve import get_backend
from zkml.arith.field import P
from zkml.commitments import pedersen
from zkml.errors import FormatError, VerificationError
from zkml.formats.data import Dataset, save_dataset
from zkml.formats.proof import ShardedProof, read_proof
from zkml.prover import shard_ranges

N, SHARD = 150, 64          # three shards: 0..63, 64..127, 128..149


@pytest.fixture(scope="module")
def case(digits, digits_qmodel):
    _, _, x_test, y_test = digits
    model = digits_qmodel
    commitment = zkml.commit(model)
    data = Dataset(x_test[:N], y_test[:N])
    proof = zkml.prove(model, data, shard_size=SHARD, rng=random.Random(5))
    return model, commitment, data, proof


def _rejects(commitment, data, proof) -> str:
    """The verifier's reason for rejecting `proof` (a ShardedProof or its bytes)."""
    try:
        if isinstance(proof, (bytes, bytearray)):
            proof = read_proof(bytes(proof))
        count = zkml.verify(commitment, data, proof)
    except (VerificationError, FormatError) as exc:
        assert str(exc), "a rejection must carry a reason"
        return getattr(exc, "reason", str(exc))
    raise AssertionError(f"tampered sharded proof accepted (count {count})")


def _with(proof: ShardedProof, **changes) -> ShardedProof:
    return dataclasses.replace(proof, shards=list(proof.shards), **changes)


def test_shard_ranges_tile_the_samples():
    assert shard_ranges(150, 64) == [(0, 64), (64, 128), (128, 150)]
    assert shard_ranges(64, 64) == [(0, 64)]
    assert shard_ranges(3, 1) == [(0, 1), (1, 2), (2, 3)]
    with pytest.raises(ValueError):
        shard_ranges(10, 0)


def test_honest_sharded_proof_verifies_with_the_whole_count(case):
    model, commitment, data, proof = case
    expected = int(np.sum(model.predict(data.x) == data.y))
    assert isinstance(proof, ShardedProof)
    assert [(s.start, s.stop) for s in proof.shards] == shard_ranges(N, SHARD)
    assert proof.claimed_count == expected and proof.n_samples == N
    again = read_proof(proof.to_bytes())
    assert isinstance(again, ShardedProof) and again.to_bytes() == proof.to_bytes()
    assert zkml.verify(commitment, data, again) == expected
    # the statement checks that name a mistake before verifying work on sharded proofs too
    zkml.check_statement(commitment, data, again)


def test_shard_counts_stay_hidden(case):
    """Only K and the blinds' sum are in the clear: each shard's count is a Pedersen
    commitment with its own blind, so two proofs of the same statement differ in every C_s."""
    model, commitment, data, proof = case
    other = zkml.prove(model, data, shard_size=SHARD, rng=random.Random(6))
    assert other.claimed_count == proof.claimed_count
    assert all(a.count_commitment != b.count_commitment for a, b in zip(proof.shards, other.shards))
    assert other.blind != proof.blind


@pytest.mark.parametrize("delta", [1, -1])
def test_changed_total_is_rejected(case, delta):
    _, commitment, data, proof = case
    reason = _rejects(commitment, data, _with(proof, claimed_count=proof.claimed_count + delta))
    assert "do not add up to the claimed count" in reason


def test_changed_blind_sum_is_rejected(case):
    _, commitment, data, proof = case
    assert "do not add up" in _rejects(commitment, data, _with(proof, blind=(proof.blind + 1) % P))


def test_dropped_last_shard_is_rejected(case):
    _, commitment, data, proof = case
    reason = _rejects(commitment, data, dataclasses.replace(proof, shards=proof.shards[:-1]))
    assert "cover samples 0..127, the dataset has 150" in reason


@pytest.mark.parametrize("order", [[0, 2], [1, 0, 2], [0, 1, 1, 2], [0, 0, 1, 2]])
def test_dropped_reordered_or_repeated_shards_are_rejected(case, order):
    _, commitment, data, proof = case
    reason = _rejects(commitment, data, dataclasses.replace(proof, shards=[proof.shards[i] for i in order]))
    assert "must cover samples 0..149 in order" in reason


def test_moved_shard_boundary_is_rejected(case):
    """The ranges still tile the samples, but each shard's proof was made for its own range."""
    _, commitment, data, proof = case
    a, b, c = proof.shards
    moved = [dataclasses.replace(a, stop=63), dataclasses.replace(b, start=63), c]
    reason = _rejects(commitment, data, dataclasses.replace(proof, shards=moved))
    assert reason.startswith("shard 1 of 3 (samples 0..62)")


def test_swapped_count_commitments_are_rejected(case):
    """Swapping two shards' C_s keeps their product (the sum check passes): the transcript,
    which absorbs each shard's C_s, must catch it."""
    _, commitment, data, proof = case
    a, b, c = proof.shards
    swapped = [dataclasses.replace(a, count_commitment=b.count_commitment),
               dataclasses.replace(b, count_commitment=a.count_commitment), c]
    assert _rejects(commitment, data, dataclasses.replace(proof, shards=swapped)).startswith("shard 1 of 3")


def test_shard_count_raised_by_one_with_the_total_is_rejected(case):
    """A prover claiming one more correct sample in shard 2: C_2 g (its count + 1) and K + 1
    make the sum check pass; the shard's own proof (its count zero-check) must fail."""
    _, commitment, data, proof = case
    be = get_backend()
    a, b, c = proof.shards
    raised = be.to_bytes(be.add(be.from_bytes(b.count_commitment), pedersen.g()))
    cheat = dataclasses.replace(proof, claimed_count=proof.claimed_count + 1,
                                shards=[a, dataclasses.replace(b, count_commitment=raised), c])
    assert _rejects(commitment, data, cheat).startswith("shard 2 of 3 (samples 64..127)")


def test_shard_from_another_context_is_rejected(case):
    """A shard proved for another entry (context) does not verify in this one, even inside an
    otherwise honest container."""
    model, commitment, data, proof = case
    other = zkml.prove(model, data, shard_size=SHARD, context="proofboard/other/1", rng=random.Random(7))
    mixed = dataclasses.replace(proof, shards=[proof.shards[0], other.shards[1], proof.shards[2]])
    assert _rejects(commitment, data, mixed).startswith("shard 2 of 3 (samples 64..127)")
    assert "different context" in _rejects(commitment, data, other)


def test_swapped_labels_or_inputs_are_rejected(case):
    _, commitment, data, proof = case
    y = np.array(data.y)
    y[[3, 100]] = y[[100, 3]] if y[3] != y[100] else (y[3] + 1) % 10
    assert "different labels" in _rejects(commitment, Dataset(data.x, y), proof)
    x = np.array(data.x)
    x[70] = x[71]
    assert "different test inputs" in _rejects(commitment, Dataset(x, data.y), proof)


def test_flipped_bytes_in_shard_bodies_are_rejected(case):
    _, commitment, data, proof = case
    raw = proof.to_bytes()
    rng = random.Random(11)
    header = 8 + 2 + 8 + 8 + 32 + 5 * 32 + 4
    for _ in range(6):
        pos = rng.randrange(header, len(raw))
        bad = bytearray(raw)
        bad[pos] ^= 1 << rng.randrange(8)
        _rejects(commitment, data, bad)


@pytest.mark.parametrize("cut", ["truncated", "extended", "no shards", "blind not canonical", "bad point"])
def test_malformed_containers_are_format_errors(case, cut):
    _, commitment, data, proof = case
    raw = bytearray(proof.to_bytes())
    header = 8 + 2 + 8 + 8 + 32 + 5 * 32 + 4
    if cut == "truncated":
        raw = raw[:-10]
    elif cut == "extended":
        raw += b"\x00"
    elif cut == "no shards":
        raw = raw[:header - 4] + b"\x00\x00\x00\x00"
    elif cut == "blind not canonical":
        raw[26:58] = (P + 1).to_bytes(32, "big")
    else:
        raw[header + 16:header + 16 + 48] = b"\x01" * 48
    with pytest.raises((FormatError, VerificationError)) as exc:
        zkml.verify(commitment, data, read_proof(bytes(raw)))
    assert str(exc.value)


def test_cli_proves_and_verifies_in_shards(case, tmp_path, capsys):
    model, commitment, data, proof = case
    model_path, commit_path = tmp_path / "MODEL.zkm", tmp_path / "COMMIT.json"
    data_path, proof_path = tmp_path / "test.npz", tmp_path / "PROOF.bin"
    model.save(model_path)
    commitment.save(commit_path)
    save_dataset(data_path, data.x, data.y)
    assert main(["prove", str(model_path), "--dataset", str(data_path), "--out", str(proof_path),
                 "--quiet", "--shard-size", "100"]) == 0
    assert isinstance(read_proof(proof_path.read_bytes()), ShardedProof)
    assert main(["verify", "--commitment", str(commit_path), "--dataset", str(data_path),
                 "--proof", str(proof_path)]) == 0
    assert f"verified: {proof.claimed_count}/{N} correct" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["prove", str(model_path), "--dataset", str(data_path), "--out", str(proof_path), "--shard-size", "0"])


def test_sharded_simulator_makes_accepting_proofs_without_the_weights():
    """Zero knowledge of §6a: without the weights, for any K, the simulator's sharded proof (its
    count commitments split K arbitrarily) is accepted with its programmed challenges, and
    rejected with the real Fiat–Shamir ones."""
    from tests.zkml.test_protocol import tiny_data, tiny_model
    from zkml.formats.opening import commit
    from zkml.prover import simulate_sharded
    from zkml.verifier import verify_sharded

    model = tiny_model(d0=8, d1=6, classes=3, seed=1)
    x, y = tiny_data(model, n=13, wrong=4)
    com = commit(model, random.Random(3))
    for claimed in (0, 13, 7):
        sim, logs = simulate_sharded(com, x, y, claimed, shard_size=5, rng=random.Random(claimed))
        assert len(sim.shards) == 3
        assert verify_sharded(com, x, y, sim, programmed_challenges=logs) == claimed
        with pytest.raises(VerificationError):
            verify_sharded(com, x, y, sim)


def test_a_dense_only_sharded_proof_is_version_9_and_refuses_the_cnn_legacy_version(case):
    """Sharded files are version 9 (one opening for the witness, rows up to 2^15); the same shards as version 3
    (the CNN's legacy version) are refused by name for a dense-only network."""
    _, commitment, data, proof = case
    assert proof.version == 9 and proof.to_bytes()[8:10] == (9).to_bytes(2, "big")
    assert "is for a network with convolution or pooling layers" in _rejects(commitment, data, _with(proof, version=3))


def test_sharded_format_version_1_is_refused_by_name(case):
    """Version 1 sharded files laid out a CNN's activations per dimension: refused with the fix."""
    _, commitment, data, proof = case
    raw = bytearray(proof.to_bytes())
    raw[8:10] = (1).to_bytes(2, "big")
    with pytest.raises(FormatError, match="unsupported sharded proof version 1.*prove again"):
        read_proof(bytes(raw))
