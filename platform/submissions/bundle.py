"""The public proof bundle of a verified entry (zip), re-verifiable offline."""
import io
import json
import zipfile

from .models import Submission

README = """Proofboard proof bundle for entry #{pk} on challenge "{slug}".

Verify it offline (download the test set from the challenge page as test.npz and
check its SHA-256 against dataset-sha256.txt first):

    {command}

{binding}The verifier prints the proven number of correct predictions ({count} of {total}).
"""
BINDING = """The proof is bound to the context "{context}" (challenge and entry): it verifies only
with that --context, so it cannot be replayed under another entry.
"""


def build_bundle(entry: Submission) -> bytes:
    """Zip: commitment.json, proof.bin, dataset-sha256.txt, verification.json, README.txt."""
    context = entry.verified_context
    record = dict(entry.verification_record or {})
    record.setdefault("context", context)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("commitment.json", bytes(entry.commitment or b""))
        zf.writestr("proof.bin", bytes(entry.proof or b""))
        zf.writestr("dataset-sha256.txt", f"{entry.challenge.test_set_sha256}  test.npz\n")
        zf.writestr("verification.json", json.dumps(record, indent=2, sort_keys=True))
        zf.writestr("README.txt", README.format(
            pk=entry.pk, slug=entry.challenge.slug, command=entry.verify_command,
            binding=BINDING.format(context=context) if context else "",
            count=entry.correct_count, total=entry.total_count))
    return buffer.getvalue()
