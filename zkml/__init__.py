"""zkml: zero-knowledge proofs of a quantized network's accuracy (MLPs and CNNs) on a public test set.

    model = quantize(onnx, calibration_x)      # private QuantizedModel (save as .zkm)
    commitment = commit(model)                 # public; the opening goes into the model
    proof = prove(model, dataset)              # public
    count = verify(commitment, dataset, proof) # or VerificationError(reason)

See docs/protocol.md for the protocol and file formats.
"""
from importlib import import_module

# `quantize` is both a submodule and a function: bound now, so that importing the submodule
# later cannot leave `zkml.quantize` naming the module (the module loads numpy only; onnx and
# onnxruntime are imported when used).
from .quantize import float_accuracy, int_accuracy, quantize  # noqa: E402

# Other names are loaded on first use (PEP 562), so `import zkml.verifier` or `zkml verify`
# loads no prover module (tests/zkml/test_import_rule.py).
_EXPORTS = {
    "check_model_commitment": "api", "check_statement": "api", "commit": "api", "input_ints": "api",
    "prove": "api", "verify": "api", "Commitment": "commitment", "Dataset": "data",
    "load_dataset": "data", "save_dataset": "data", "sha256_file": "data",
    "CommitmentMismatchError": "errors", "FormatError": "errors", "StatementMismatchError": "errors",
    "UnsupportedModelError": "errors", "VerificationError": "errors", "ZkmlError": "errors",
    "QuantizedModel": "model", "Proof": "proof",
}
__all__ = sorted(list(_EXPORTS) + ["float_accuracy", "int_accuracy", "quantize"])


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'zkml' has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
