"""The four steps as a Python API: quantize, commit, prove, verify (what the CLI, the
platform and the prover worker call), and the cheap checks that name a mistake before
proving or verifying (a model that is not the committed one, a proof for another statement)."""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

from zkml.formats.commitment import Commitment
from zkml.formats.data import Dataset
from zkml.errors import (CommitmentMismatchError, FormatError, StatementMismatchError, VerificationError,
                     ZkmlError)
from zkml.formats.inputs import quantize_array
from zkml.formats.proof import Proof, ShardedProof
from zkml.statement import statement_digests
from zkml.verifier import verify_sharded, verify_statement

if TYPE_CHECKING:
    from zkml.formats.model import QuantizedModel


def _labels(dataset: Dataset, n_classes: int) -> np.ndarray:
    y = np.asarray(dataset.y, dtype=np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise FormatError(f"labels must be in [0, {n_classes}): found {int(y.min())}..{int(y.max())}")
    return y


def commit(model: QuantizedModel, rng=None) -> Commitment:
    """Commit to the model's weights (stores the private opening in the model; save it)."""
    from zkml.formats.opening import commit as commit_model   # not on the verifier's import path
    return commit_model(model, rng)


def prove(model: QuantizedModel, dataset: Dataset, progress=None, rng=None, context: str = "",
          shard_size: int | None = None, max_memory: int | None = None) -> Proof | ShardedProof:
    """Prove how many samples of `dataset` the committed model classifies correctly.
    `context` (e.g. "proofboard/<challenge>/<entry>") binds the proof to where it is used;
    verify must be given the same string. With `shard_size`, one proof per range of that many
    samples, proved one after the other: the prover's memory is one shard's (a ShardedProof).
    With `max_memory` (bytes) and no shard size, the shard size is chosen so that the estimated
    peak memory fits (zkml/memory.py; one proof when the whole test set fits)."""
    from zkml.prover import prove_sharded, prove_statement   # not on the verifier's import path

    if len(dataset) == 0:
        raise FormatError("the dataset is empty")
    if shard_size is not None and shard_size < 1:
        raise FormatError(f"the shard size must be a positive number of samples, not {shard_size}")
    if max_memory is not None and max_memory < 1:
        raise FormatError(f"the memory allowed must be a positive number of bytes, not {max_memory}")
    if shard_size is None and max_memory is not None:
        from zkml.memory import shard_size_for
        shard_size = shard_size_for(model.architecture(), len(dataset), max_memory)
    x_int = model.quantize_input(dataset.x)
    labels = _labels(dataset, model.n_classes)
    if shard_size is None:
        return prove_statement(model, x_int, labels, progress, rng, context)
    return prove_sharded(model, x_int, labels, shard_size, progress, rng, context)


def input_ints(commitment: Commitment, dataset: Dataset) -> np.ndarray:
    """The dataset's inputs quantized by the public input scale of the architecture."""
    arch = commitment.architecture
    dim = int(arch["layers"][0]["in"])
    x = np.asarray(dataset.x)
    if x.ndim < 2 or int(np.prod(x.shape[1:], dtype=np.int64)) != dim:
        raise FormatError(f"the dataset's samples have shape {tuple(x.shape[1:])}, "
                          f"the model expects {dim} inputs")
    return quantize_array(x, float(arch["input_scale"]))


def verify(commitment: Commitment, dataset: Dataset, proof: Proof | ShardedProof, progress=None,
           context: str = "") -> int:
    """The proven number of correctly classified samples; raises VerificationError when the
    proof does not verify. Any other exception is a fault of the verifier, not of the proof
    (the platform retries it rather than rejecting the entry)."""
    try:
        x_int = input_ints(commitment, dataset)
        labels = _labels(dataset, int(commitment.architecture["n_classes"]))
        if isinstance(proof, ShardedProof):
            return verify_sharded(commitment, x_int, labels, proof, progress, context=context)
        return verify_statement(commitment, x_int, labels, proof, progress, context=context)
    except VerificationError:
        raise
    except ZkmlError as exc:
        raise VerificationError(str(exc)) from None


def context_digest(context: str) -> bytes:
    """The proof header's context digest of `context` (as statement_digests computes it)."""
    return hashlib.sha256(context.encode("utf-8")).digest()


def check_statement(commitment: Commitment, dataset: Dataset, proof: Proof, context: str = "") -> None:
    """Cheaply check that `proof` was made for this statement (no curve work): its sample count
    and the five statement digests of its header. Raises StatementMismatchError naming every
    part that differs, so a mistake is named before a verifier spends time on it; a proof that
    passes may still fail verification."""
    arch, tensors = commitment.architecture, commitment.tensor_bytes()
    expected = statement_digests(arch, tensors, np.zeros((0, 0), np.int64), np.zeros(0, np.int64), context)
    wrong = [part for part in ("context", "architecture", "commitment") if proof.statement.get(part) != expected[part]]
    if proof.n_samples != len(dataset):
        wrong.insert(0, "n_samples")        # then the inputs and labels differ too
    else:
        labels = _labels(dataset, int(arch["n_classes"]))
        expected = statement_digests(arch, tensors, input_ints(commitment, dataset), labels, context)
        wrong += [part for part in ("inputs", "labels") if proof.statement.get(part) != expected[part]]
    if wrong:
        raise StatementMismatchError(wrong)


def check_model_commitment(model: QuantizedModel, commitment: Commitment) -> None:
    """Raise CommitmentMismatchError unless `model` (a MODEL.zkm) is the one `commitment` was
    made from: the same public architecture, and an opening for exactly these row commitments."""
    if model.architecture() != commitment.architecture:
        raise CommitmentMismatchError("the model file has a different architecture or quantization scales "
                                      "than the commitment")
    from zkml.formats.opening import load_opening   # not on the verifier's import path
    _, committed = load_opening(model)
    if committed != commitment.tensor_bytes():
        raise CommitmentMismatchError("the model file belongs to a different commitment (committing again "
                                      "makes a new commitment and a new opening)")
