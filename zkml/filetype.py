"""Recognize zkml's files (and the usual wrong uploads) from their first bytes, so an error can
say "this is your private MODEL.zkm" instead of "not valid JSON"."""
from __future__ import annotations

from zkml.formats.model import MAGIC as MODEL_MAGIC
from zkml.formats.proof import PROOF_MAGIC, SHARDED_MAGIC

MODEL = "model"
PROOF = "proof"
COMMITMENT = "commitment"
ZIP = "zip"
ONNX = "onnx"

DESCRIPTIONS = {
    MODEL: "a private model file (MODEL.zkm, from `python -m zkml quantize`: it holds your weights)",
    PROOF: "a proof file (PROOF.bin, from `python -m zkml prove`)",
    COMMITMENT: "a commitment file (COMMIT.json, from `python -m zkml commit`)",
    ZIP: "a zip archive (e.g. a dataset .npz or a proof bundle)",
    ONNX: "an ONNX model",
}


def sniff(data: bytes) -> str | None:
    """The kind of file `data` looks like (a key of DESCRIPTIONS), or None."""
    head = bytes(data[:256])
    if head.startswith(MODEL_MAGIC):
        return MODEL
    if head.startswith(PROOF_MAGIC) or head.startswith(SHARDED_MAGIC):
        return PROOF
    if head.startswith(b"PK\x03\x04"):
        return ZIP
    if head.lstrip().startswith(b"{") and b'"proofboard-zkml-commitment"' in bytes(data[:1 << 16]):
        return COMMITMENT
    # ONNX ModelProto: field 1 (ir_version, varint) first, as every exporter writes it
    if head[:1] == b"\x08" and b"\x12" in head[:12]:
        return ONNX
    return None


def describe(data: bytes) -> str | None:
    """A phrase naming what `data` is ("a proof file (PROOF.bin, …)"), or None if unknown."""
    kind = sniff(data)
    return DESCRIPTIONS[kind] if kind else None
