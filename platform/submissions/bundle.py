"""The public proof bundle of a verified entry (zip), re-verifiable offline."""
import io
import json
import stat
import time
import zipfile

from django.urls import reverse

from .models import Submission

README = """Proofboard proof bundle for entry #{pk} on challenge "{slug}".

Verify it offline, in this folder:

1. Install the participant package (zkml and the prover client; no server stack): in a
   Proofboard checkout (or with the wheel built from it),

    pip install .

2. Download the test set from the challenge page ({test_set_path}) into this folder
   as {filename}, and check it against dataset-sha256.txt:

    sha256sum -c dataset-sha256.txt

3. Verify the proof:

    {command}

{binding}The verifier prints the proven number of correct predictions ({count} of {total}).
"""
BINDING = """The proof is bound to the context "{context}" (challenge and entry): it verifies only
with that --context, so it cannot be replayed under another entry.
"""


def _add(zf: zipfile.ZipFile, name: str, data) -> None:
    """A member that unzips readable by everyone (mode 0644; zipfile's default, no mode, becomes
    0600 or worse with some unzip tools)."""
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.create_system = 3  # Unix: the mode below is honoured
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_bundle(entry: Submission) -> bytes:
    """Zip: commitment.json, proof.bin, dataset-sha256.txt, verification.json, README.txt."""
    context = entry.verified_context
    record = dict(entry.verification_record or {})
    record.setdefault("context", context)
    buffer = io.BytesIO()
    challenge = entry.challenge
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        _add(zf, "commitment.json", bytes(entry.commitment or b""))
        _add(zf, "proof.bin", bytes(entry.proof or b""))
        _add(zf, "dataset-sha256.txt", f"{challenge.test_set_sha256}  {challenge.test_set_filename}\n")
        _add(zf, "verification.json", json.dumps(record, indent=2, sort_keys=True))
        _add(zf, "README.txt", README.format(
            pk=entry.pk, slug=challenge.slug, command=entry.verify_command,
            test_set_path=reverse("challenges:test_set", args=[challenge.slug]),
            filename=challenge.test_set_filename,
            binding=BINDING.format(context=context) if context else "",
            count=entry.correct_count, total=entry.total_count))
    return buffer.getvalue()
