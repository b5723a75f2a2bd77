"""zkml: zero-knowledge proofs of a quantized network's accuracy (MLPs and CNNs) on a public test set.

    model = quantize(onnx, calibration_x)      # private QuantizedModel (save as .zkm)
    commitment = commit(model)                 # public; the opening goes into the model
    proof = prove(model, dataset)              # public
    count = verify(commitment, dataset, proof) # or VerificationError(reason)

See docs/protocol.md for the protocol and file formats. The package, by role:
arith/ (field, curve, field vectors), commitments/ (Pedersen, Hyrax openings, IPA), protocols/
(transcript, sumcheck, sigma, lookups; each split into *_prover and *_verifier modules), layers/ (one module per layer kind), formats/ (model,
commitment, proof, dataset files), frontend/ (ONNX import, quantization); circuit.py and
statement.py describe the statement, prover.py and verifier.py are its two halves, api.py the
four steps, __main__.py the CLI, native/ the compiled kernels.
"""
from importlib import import_module

# Names are loaded on first use (PEP 562), so `import zkml.verifier` or `zkml verify` loads no
# prover module and no ONNX library (tests/zkml/test_import_rule.py).
_EXPORTS = {
    "check_model_commitment": "api", "check_statement": "api", "commit": "api", "input_ints": "api",
    "prove": "api", "verify": "api", "Commitment": "formats.commitment", "Dataset": "formats.data",
    "load_dataset": "formats.data", "save_dataset": "formats.data", "sha256_file": "formats.data",
    "CommitmentMismatchError": "errors", "FormatError": "errors", "StatementMismatchError": "errors",
    "UnsupportedModelError": "errors", "VerificationError": "errors", "ZkmlError": "errors",
    "QuantizedModel": "formats.model", "Proof": "formats.proof", "ShardedProof": "formats.proof",
    "read_proof": "formats.proof", "load_proof": "formats.proof", "float_accuracy": "frontend.quantize",
    "int_accuracy": "frontend.quantize", "quantize": "frontend.quantize",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'zkml' has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
