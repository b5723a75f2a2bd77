"""The cheap checks that name a mistake before proving or verifying (issue 9, item 3): a whole
proof file (format 3 carries the body length), the statement a proof was made for, the model a
commitment was made from, and what kind of file a wrong upload is."""
import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zkml
from zkml import filetype
from zkml.formats.data import Dataset
from zkml.errors import CommitmentMismatchError, FormatError, StatementMismatchError
from zkml.formats.proof import _HEADER, _HEADER_V2, PROOF_MAGIC, STATEMENT_PARTS, Proof
from zkml.statement import statement_digests

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def case(digits, digits_qmodel):
    _, _, x_test, y_test = digits
    model = copy.deepcopy(digits_qmodel)
    commitment = zkml.commit(model)
    data = Dataset(x_test[:30], y_test[:30])
    proof = zkml.prove(model, data, context="proofboard/digits/3")
    return model, commitment, data, proof


def test_the_whole_proof_file_is_parsed(case):
    *_, proof = case
    raw = proof.to_bytes()
    assert len(raw) == _HEADER.size + len(proof.body)
    assert Proof.from_bytes(raw).body == proof.body
    for cut in (len(raw) - 1, _HEADER.size + 1, _HEADER.size):
        with pytest.raises(FormatError, match=f"its body has {cut - _HEADER.size} of {len(proof.body)} bytes"):
            Proof.from_bytes(raw[:cut])
    with pytest.raises(FormatError, match="proof is truncated: 100 bytes"):
        Proof.from_bytes(raw[:100])
    with pytest.raises(FormatError, match="3 unexpected bytes after the proof's end"):
        Proof.from_bytes(raw + b"abc")
    with pytest.raises(FormatError, match="not a proof file"):
        Proof.from_bytes(b"ZKM")


def test_version_2_proofs_still_verify():
    """Proofs (and published bundles) made before the body length was recorded stay verifiable:
    a legacy proof (tests/zkml/data/legacy) rewritten in the version-2 header."""
    from zkml.formats.commitment import Commitment
    from zkml.verifier import verify_statement
    legacy = Path(__file__).with_name("data") / "legacy"
    commitment = Commitment.from_bytes((legacy / "mlp_commitment.json").read_bytes())
    data = np.load(legacy / "mlp_data.npz")
    proof = Proof.from_bytes((legacy / "mlp_proof_v4.bin").read_bytes())
    old = _HEADER_V2.pack(PROOF_MAGIC, 2, proof.claimed_count, proof.n_samples,
                          *(proof.statement[k] for k in STATEMENT_PARTS)) + proof.body
    assert proof.to_bytes(version=2) == old
    parsed = Proof.from_bytes(old)
    assert parsed.version == 2 and parsed.body == proof.body
    assert verify_statement(commitment, data["x"], data["y"], parsed) == proof.claimed_count
    assert Proof.from_bytes(parsed.to_bytes()).version == 4          # written with the body length


def test_check_statement_names_every_difference(case, digits_qmodel):
    model, commitment, data, proof = case
    zkml.check_statement(commitment, data, proof, context="proofboard/digits/3")
    for context, parts in (("", ["context"]), ("proofboard/digits/4", ["context"])):
        with pytest.raises(StatementMismatchError) as info:
            zkml.check_statement(commitment, data, proof, context=context)
        assert info.value.parts == parts
    other = zkml.commit(copy.deepcopy(model))
    with pytest.raises(StatementMismatchError) as info:
        zkml.check_statement(other, data, proof, context="proofboard/digits/3")
    assert info.value.parts == ["commitment"]
    with pytest.raises(StatementMismatchError) as info:
        zkml.check_statement(commitment, Dataset(data.x[:20], data.y[:20]), proof)
    assert info.value.parts == ["n_samples", "context"]
    y = data.y.copy()
    y[0] = (y[0] + 1) % 10
    with pytest.raises(StatementMismatchError) as info:
        zkml.check_statement(commitment, Dataset(data.x, y), proof, context="proofboard/digits/3")
    assert info.value.parts == ["labels"] and "different labels" in str(info.value)


def test_context_digest_is_the_statements(case):
    _, commitment, data, _ = case
    digests = statement_digests(commitment.architecture, commitment.tensor_bytes(),
                                zkml.input_ints(commitment, data), data.y, "proofboard/x/1")
    assert zkml.api.context_digest("proofboard/x/1") == digests["context"]


def test_check_model_commitment(case):
    model, commitment, _, _ = case
    zkml.check_model_commitment(model, commitment)
    again = copy.deepcopy(model)
    other = zkml.commit(again)
    with pytest.raises(CommitmentMismatchError, match="belongs to a different commitment"):
        zkml.check_model_commitment(again, commitment)
    zkml.check_model_commitment(again, other)
    changed = copy.deepcopy(model)
    changed.input_scale = changed.input_scale * 2
    with pytest.raises(CommitmentMismatchError, match="different architecture"):
        zkml.check_model_commitment(changed, commitment)


def test_filetype_names_the_files(case, tmp_path, digits_onnx):
    model, commitment, _, proof = case
    model.save(tmp_path / "m.zkm")
    assert filetype.sniff((tmp_path / "m.zkm").read_bytes()) == filetype.MODEL
    assert filetype.sniff(proof.to_bytes()) == filetype.PROOF
    assert filetype.sniff(commitment.to_bytes()) == filetype.COMMITMENT
    assert filetype.sniff(digits_onnx) == filetype.ONNX
    zkml.save_dataset(tmp_path / "d.npz", np.zeros((2, 2), np.float32), np.zeros(2, np.int64))
    assert filetype.sniff((tmp_path / "d.npz").read_bytes()) == filetype.ZIP
    assert filetype.sniff(b'{"a": 1}') is None and filetype.sniff(b"") is None
    assert "MODEL.zkm" in filetype.describe((tmp_path / "m.zkm").read_bytes())


@pytest.mark.parametrize("argument", ["--commitment", "--dataset", "--proof"])
@pytest.mark.parametrize("junk", [b"", b"\x00" * 1000, bytes(range(256)) * 40, b"ZKMPROOF\x00\x03" + b"\xff" * 400,
                                  b"PK\x03\x04" + b"\x00" * 100, b"[" * 200_000])
def test_cli_refuses_junk_in_any_file_with_one_line(case, tmp_path, argument, junk):
    model, commitment, data, proof = case
    files = {"--commitment": "c.json", "--dataset": "d.npz", "--proof": "p.bin"}
    commitment.save(tmp_path / "c.json")
    zkml.save_dataset(tmp_path / "d.npz", data.x, data.y)
    proof.save(tmp_path / "p.bin")
    (tmp_path / files[argument]).write_bytes(junk)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("ZKML_TRACEBACK", None)
    out = subprocess.run([sys.executable, "-m", "zkml", "verify", "--context", "proofboard/digits/3",
                          *[x for k, v in files.items() for x in (k, v)]], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr.startswith("error: ") and "Traceback" not in out.stderr, out.stderr
    assert "internal error" not in out.stderr
