"""zkml: zero-knowledge proofs of a quantized MLP's accuracy on a public test set.

    model = quantize(onnx, calibration_x)      # private QuantizedModel (save as .zkm)
    commitment = commit(model)                 # public; the opening goes into the model
    proof = prove(model, dataset)              # public
    count = verify(commitment, dataset, proof) # or VerificationError(reason)

See docs/protocol.md for the protocol and file formats.
"""
from .api import check_model_commitment, check_statement, commit, input_ints, prove, verify
from .commitment import Commitment
from .data import Dataset, load_dataset, save_dataset, sha256_file
from .errors import (CommitmentMismatchError, FormatError, StatementMismatchError, UnsupportedModelError,
                     VerificationError, ZkmlError)
from .model import QuantizedModel
from .proof import Proof
from .quantize import float_accuracy, int_accuracy, quantize

__all__ = ["Commitment", "CommitmentMismatchError", "Dataset", "FormatError", "Proof", "QuantizedModel",
           "StatementMismatchError", "UnsupportedModelError", "VerificationError", "ZkmlError",
           "check_model_commitment", "check_statement", "commit", "float_accuracy", "input_ints", "int_accuracy",
           "load_dataset", "prove", "quantize", "save_dataset", "sha256_file", "verify"]
