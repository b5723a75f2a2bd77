"""The four steps as a Python API: quantize, commit, prove, verify (what the CLI, the
platform and the prover worker call)."""
from __future__ import annotations

import numpy as np

from .commitment import Commitment, commit as _commit
from .data import Dataset
from .errors import FormatError, VerificationError, ZkmlError
from .model import QuantizedModel, quantize_array
from .proof import Proof
from .prover import prove_statement
from .verifier import verify_statement


def _labels(dataset: Dataset, n_classes: int) -> np.ndarray:
    y = np.asarray(dataset.y, dtype=np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise FormatError(f"labels must be in [0, {n_classes}): found {int(y.min())}..{int(y.max())}")
    return y


def commit(model: QuantizedModel, rng=None) -> Commitment:
    """Commit to the model's weights (stores the private opening in the model; save it)."""
    return _commit(model, rng)


def prove(model: QuantizedModel, dataset: Dataset, progress=None, rng=None, context: str = "") -> Proof:
    """Prove how many samples of `dataset` the committed model classifies correctly.
    `context` (e.g. "proofboard/<challenge>/<entry>") binds the proof to where it is used;
    verify must be given the same string."""
    if len(dataset) == 0:
        raise FormatError("the dataset is empty")
    x_int = model.quantize_input(dataset.x)
    return prove_statement(model, x_int, _labels(dataset, model.n_classes), progress, rng, context)


def input_ints(commitment: Commitment, dataset: Dataset) -> np.ndarray:
    """The dataset's inputs quantized by the public input scale of the architecture."""
    arch = commitment.architecture
    dim = int(arch["layers"][0]["in"])
    x = np.asarray(dataset.x)
    if x.ndim < 2 or int(np.prod(x.shape[1:], dtype=np.int64)) != dim:
        raise FormatError(f"the dataset's samples have shape {tuple(x.shape[1:])}, "
                          f"the model expects {dim} inputs")
    return quantize_array(x, float(arch["input_scale"]))


def verify(commitment: Commitment, dataset: Dataset, proof: Proof, progress=None, context: str = "") -> int:
    """The proven number of correctly classified samples; raises VerificationError otherwise."""
    try:
        x_int = input_ints(commitment, dataset)
        labels = _labels(dataset, int(commitment.architecture["n_classes"]))
        return verify_statement(commitment, x_int, labels, proof, progress, context=context)
    except VerificationError:
        raise
    except ZkmlError as exc:
        raise VerificationError(str(exc)) from None
    except (ValueError, KeyError, IndexError, TypeError, ArithmeticError, RecursionError) as exc:
        # Malformed public inputs that slipped past validation: still a clean rejection.
        raise VerificationError(f"malformed statement or proof ({type(exc).__name__}: {exc})") from None
    except MemoryError:
        raise VerificationError("the statement is too large to verify on this machine") from None
