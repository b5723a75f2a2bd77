"""Upload validation and the zkml adapter: every participant file is parsed and checked here
(size from the declared length before reading, kind, format, fit with the challenge), and every
refusal is a typed errors.BadUpload / UploadMismatch / BadInput (a 400 naming the fix)."""
import math
import tempfile
from pathlib import Path
from typing import Optional

from django.conf import settings

from challenges.models import Challenge

from . import checks, errors

UPLOAD_LIMITS = {  # what: settings name of its size limit
    "commitment": "MAX_COMMITMENT_BYTES",
    "proof": "MAX_PROOF_BYTES",
    "model": "MAX_MODEL_BYTES",
}


def check_upload_size(what: str, size: Optional[int]) -> None:
    """Refuse an upload from its declared size (UploadedFile.size / Content-Length), before reading it."""
    limit = getattr(settings, UPLOAD_LIMITS[what])
    if size is not None and size > limit:
        raise errors.BadUpload(f"The {what} file is larger than {limit} bytes.")


def read_upload(what: str, uploaded) -> bytes:
    """Check an UploadedFile's size against its limit, then read it."""
    check_upload_size(what, uploaded.size)
    return uploaded.read()


def _check_file(what: str, data: bytes) -> None:
    """Refuse empty or oversized file contents (`what`: a key of UPLOAD_LIMITS)."""
    if not data:
        raise errors.BadUpload(f"The {what} file is empty.")
    check_upload_size(what, len(data))


def _check_rows_in_group(commitment) -> None:
    """Every row commitment in BLS12-381's prime-order subgroup, as zkml makes them: the verifier
    would judge only the rows' subgroup components (docs/protocol.md §5), and this keeps one
    encoding per commitment, so "a commitment belongs to whoever uploaded it first" holds."""
    from zkml.protocols.group_checks import in_subgroup

    for name, tensor in commitment.tensors.items():
        for i, row in enumerate(tensor.rows):
            if not in_subgroup(row):
                raise errors.BadUpload(f"Row {i} of tensor {name} in the commitment is not a point of the "
                                       f"prime-order group, so zkml did not make it. {checks.COMMITMENT_ADVICE}")


def parse_commitment(data: bytes, challenge: Challenge):
    """Parse a COMMIT.json and check it fits the challenge; returns the zkml Commitment."""
    import zkml
    from zkml.errors import ZkmlError

    _check_file("commitment", data)
    wrong = checks.wrong_kind(data, "commitment")
    if wrong:
        raise errors.UploadMismatch(wrong)
    try:
        commitment = zkml.Commitment.from_bytes(data)
        arch = commitment.architecture
    except ZkmlError as exc:
        raise errors.BadUpload(f"Not a valid commitment file: {str(exc)[:500]}. {checks.COMMITMENT_ADVICE}")
    except Exception as exc:  # anything the parser did not anticipate is still bad input
        raise errors.BadUpload(f"Not a valid commitment file ({type(exc).__name__}). {checks.COMMITMENT_ADVICE}")
    if not isinstance(arch, dict) or not arch.get("layers"):
        raise errors.BadUpload("The commitment does not describe a model architecture.")
    _check_rows_in_group(commitment)
    if _has_nul(arch):
        raise errors.BadUpload("The commitment's architecture contains NUL characters.")
    layers = arch["layers"]
    input_shape = arch.get("input_shape") or [layers[0].get("in", 0)]
    try:
        input_dims = int(math.prod(int(d) for d in input_shape))
        n_classes = int(arch.get("n_classes") or layers[-1].get("out"))
    except (TypeError, ValueError):
        raise errors.BadUpload("The commitment's architecture is malformed.")
    parameter_count(arch)  # raises on malformed layer sizes
    _check_image_shape(arch, challenge)
    if input_dims != challenge.input_size:
        raise errors.BadUpload(
            f"The committed model takes {input_dims} inputs; this challenge's samples have "
            f"{challenge.input_size} ({'×'.join(map(str, challenge.input_shape))})."
        )
    if n_classes != challenge.n_classes:
        raise errors.BadUpload(
            f"The committed model outputs {n_classes} classes; this challenge has {challenge.n_classes}."
        )
    return commitment


MAX_PARAMETER_COUNT = (1 << 63) - 1  # PositiveBigIntegerField


def parameter_count(architecture: dict) -> int:
    """Weights and biases of the dense and conv layers, computed from the layer shapes.

    The architecture's own "parameter_count" field is the participant's claim and is ignored.
    """
    from zkml.errors import ZkmlError
    from zkml.layers.spec import parameter_count as count

    try:
        total = count(architecture)
    except (ZkmlError, KeyError, TypeError, ValueError, OverflowError, AttributeError, IndexError):
        raise errors.BadUpload("The commitment's architecture is malformed.")
    return min(total, MAX_PARAMETER_COUNT)


def _check_image_shape(arch: dict, challenge) -> None:
    """A convolutional model reads [C, H, W] images: the challenge's sample shape must be the
    same ([H, W] counts as one channel). Dense models read the flattened sample."""
    layers = arch.get("layers") or []
    if not layers or layers[0].get("kind", "dense") == "dense":
        return
    shape = [int(d) for d in arch.get("input_shape") or []]
    want = [int(d) for d in challenge.input_shape]
    if shape != want and not (len(want) == 2 and shape == [1] + want):
        raise errors.BadUpload(
            f"The committed model reads images of shape {'×'.join(map(str, shape))} ([C, H, W]); "
            f"this challenge's samples are {'×'.join(map(str, want))}."
        )


def _has_nul(value) -> bool:
    """True if a JSON-like value holds a NUL character anywhere (PostgreSQL text/jsonb refuse them)."""
    import json

    try:
        return "\\u0000" in json.dumps(value)  # json always escapes NUL
    except (TypeError, ValueError):
        return True


def check_text(what: str, value: str) -> str:
    """Refuse NUL characters in participant-supplied text (PostgreSQL cannot store them)."""
    if "\x00" in (value or ""):
        raise errors.BadInput(f"The {what} must not contain NUL characters.")
    return value


def parse_proof(data: bytes):
    """Parse a proof file; returns the zkml Proof (or ShardedProof)."""
    import zkml
    from zkml.errors import ZkmlError

    _check_file("proof", data)
    wrong = checks.wrong_kind(data, "proof")
    if wrong:
        raise errors.UploadMismatch(wrong)
    try:
        return zkml.read_proof(data)
    except ZkmlError as exc:
        raise errors.BadUpload(f"Not a valid proof file: {exc}")
    except Exception as exc:
        raise errors.BadUpload(f"Not a valid proof file ({type(exc).__name__}).")


def check_model_file(data: bytes, baseline: bool = False):
    """Check a MODEL.zkm (or a baseline .onnx) can be read; returns the loaded zkml model (None for ONNX)."""
    _check_file("model", data)
    if baseline:
        try:
            import onnx

            onnx.load_from_string(data)
        except Exception:
            raise errors.BadUpload("Not a valid ONNX model.")
        return None
    import zkml

    wrong = checks.wrong_kind(data, "model")
    if wrong:
        raise errors.UploadMismatch(wrong)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.zkm"
        path.write_bytes(data)
        try:
            return zkml.QuantizedModel.load(str(path))
        except Exception as exc:
            raise errors.BadUpload(f"Not a valid MODEL.zkm file: {exc}")


def check_model_matches(model, commitment) -> None:
    """Hosted mode: the MODEL.zkm must be the one the COMMIT.json was made from."""
    import zkml
    from zkml.errors import ZkmlError

    try:
        zkml.check_model_commitment(model, commitment)
    except zkml.CommitmentMismatchError as exc:
        raise errors.UploadMismatch(f"The model file does not match the commitment: {exc}. Upload the COMMIT.json "
                                    "made from this MODEL.zkm (committing again changes both).")
    except ZkmlError as exc:
        raise errors.BadUpload(f"The model file cannot be proved: {exc}")


def claimed_count(proof) -> Optional[int]:
    try:
        return int(proof.claimed_count)
    except Exception:
        return None
