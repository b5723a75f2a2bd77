"""Upload checks that name a participant's mistake and its fix, so a mistake never costs an entry.

A proof is checked against its entry before it is accepted (format version, length, context,
architecture, commitment, sample count, test-set digests): a mismatch is a 400 and the entry
stays open. Only a well-formed proof for the right statement goes on to the verifier, so only
a proof that really fails verification is `rejected`. Files of the wrong kind (the private
MODEL.zkm uploaded as the commitment, a commitment uploaded as the proof, …) are named.
"""
from __future__ import annotations

from challenges.models import Challenge

from .errors import BadUpload, CheckUnavailable, UploadMismatch  # noqa: F401  (raised here)
from .models import Submission


COMMITMENT_ADVICE = "Upload the public COMMIT.json made by `zkml commit MODEL.zkm --out COMMIT.json`."


def prove_command(entry: Submission) -> str:
    """The offline command that makes a proof for `entry`."""
    return (f"zkml prove MODEL.zkm --dataset {entry.challenge.test_set_filename} --out PROOF.bin "
            f"--context {entry.proof_context}")


def _fix(entry: Submission) -> str:
    return (f"Run `{prove_command(entry)}` with the MODEL.zkm of this entry and the challenge's test set "
            f"(or `proofboard-prover run … --submission {entry.pk}`, which does all of it), "
            f"then upload the new PROOF.bin. Entry #{entry.pk} is still waiting for its proof.")


def wrong_kind(data: bytes, expected: str) -> str | None:
    """If `data` is recognizably another kind of file than `expected` (a zkml.filetype kind),
    the message that says what it is and what to upload instead; else None."""
    from zkml import filetype

    kind = filetype.sniff(data)
    if kind is None or kind == expected:
        return None
    what = filetype.DESCRIPTIONS[kind]
    if expected == filetype.COMMITMENT:
        advice = COMMITMENT_ADVICE
        if kind == filetype.MODEL:
            advice += (" Keep MODEL.zkm private: it is only uploaded for hosted proving, in the separate "
                       "model field.")
        return f"This file is {what}, not a commitment. {advice}"
    if expected == filetype.PROOF:
        return (f"This file is {what}, not a proof. Upload the PROOF.bin made by `zkml prove …` "
                f"(the entry page prints the exact command).")
    if expected == filetype.MODEL:
        return (f"This file is {what}, not a model file. Hosted proving needs the MODEL.zkm you made the "
                f"commitment from (`zkml quantize …`).")
    return f"This file is {what}."


def _context_owner(entry: Submission, digest: bytes) -> str:
    """Which context the proof was made for, when it is one we can name."""
    from zkml.api import context_digest

    if digest == context_digest(""):
        return "without --context"
    candidates = (Submission.objects.filter(participant_id=entry.participant_id)
                  | Submission.objects.filter(challenge_id=entry.challenge_id))
    for pk, slug in candidates.exclude(pk=entry.pk).values_list("pk", "challenge__slug")[:10_000]:
        context = f"proofboard/{slug}/{pk}"
        if context_digest(context) == digest:
            return f"for entry #{pk} (--context {context})"
    return "for another context"


def check_proof_for_entry(entry: Submission, proof) -> None:
    """Raise UploadMismatch naming every way `proof` (a parsed zkml.Proof or ShardedProof) was made
    for another statement than `entry`'s, with the command that makes the right one."""
    import zkml
    from zkml.errors import StatementMismatchError, ZkmlError

    from zkml.formats.proof import LENGTH_VERSIONS, version_problem

    challenge: Challenge = entry.challenge
    if isinstance(proof, zkml.Proof) and proof.version not in LENGTH_VERSIONS:
        raise UploadMismatch(f"This proof file has format version {proof.version}, made by an older zkml that did not "
                             f"record the proof's length (so a truncated copy could not be told apart): update "
                             f"zkml and prove again. {_fix(entry)}")
    problem = (version_problem(entry.architecture, proof.version, isinstance(proof, zkml.ShardedProof))
               if isinstance(entry.architecture, dict) else None)
    if problem is not None:
        raise UploadMismatch(f"{problem[0].upper()}{problem[1:]}. {_fix(entry)}")
    try:
        dataset = zkml.load_dataset(challenge.test_set.path)
    except (OSError, ValueError, ZkmlError):
        raise CheckUnavailable("The platform cannot read this challenge's test set right now, so it cannot "
                               "check the proof; nothing was stored. Please try again later.")
    try:
        commitment = zkml.Commitment.from_bytes(bytes(entry.commitment))
        zkml.check_statement(commitment, dataset, proof, context=entry.proof_context)
    except StatementMismatchError as exc:
        _name_mismatch(entry, proof, dataset, exc)
    except ZkmlError as exc:     # the stored commitment no longer fits (it was checked at commit time)
        raise BadUpload(f"Entry #{entry.pk} cannot take a proof: its commitment does not fit this "
                              f"challenge's test set ({exc}).")


def _name_mismatch(entry: Submission, proof, dataset, exc) -> None:
    """Raise UploadMismatch saying, for each part of the statement that differs, what the proof
    was made for instead, then the command that makes the right proof."""
    slug, parts = entry.challenge.slug, exc.parts
    test_set = f"the test set of “{slug}” (SHA-256 {entry.challenge.test_set_sha256[:16]}…)"
    data = "data" if "inputs" in parts and "labels" in parts else "inputs" if "inputs" in parts else "labels"
    phrases = {
        "context": lambda: (f"it was made {_context_owner(entry, proof.statement['context'])}, not for this "
                            f"entry (--context {entry.proof_context})"),
        "n_samples": lambda: f"it is for {proof.n_samples} samples, the test set of “{slug}” has {len(dataset)}",
        "architecture": lambda: "it was made for another model architecture than this entry's commitment",
        "commitment": lambda: ("it was made for another commitment than this entry's (a different MODEL.zkm, or "
                               "one committed again after this entry's COMMIT.json)"),
        "inputs": lambda: f"it was made on other test {data} than {test_set}",
        "labels": lambda: f"it was made on other test {data} than {test_set}",
    }
    problems = list(dict.fromkeys(phrases[part]() for part in parts))     # inputs + labels: said once
    raise UploadMismatch(f"This proof does not belong to entry #{entry.pk}: {'; '.join(problems)}. {_fix(entry)}")


def check_baseline_model(challenge: Challenge, onnx_bytes: bytes) -> None:
    """A baseline ONNX model must be one zkml can import, with the challenge's input size and
    class count (checked at upload, not found out by the prove worker)."""
    from zkml.errors import ZkmlError
    from zkml.frontend.onnx_import import load_float_mlp

    try:
        mlp = load_float_mlp(onnx_bytes)
    except ZkmlError as exc:
        raise BadUpload(f"This ONNX model cannot be proved: {exc}")
    except Exception:
        raise BadUpload("Not a valid ONNX model.")
    if mlp.input_dim != challenge.input_size:
        shape = "×".join(map(str, mlp.input_shape)) or "?"
        raise BadUpload(
            f"The model takes inputs of shape {shape} ({mlp.input_dim} values); this challenge's samples have "
            f"shape {'×'.join(map(str, challenge.input_shape))} ({challenge.input_size} values).")
    if mlp.n_classes != challenge.n_classes:
        raise BadUpload(f"The model outputs {mlp.n_classes} classes; this challenge has "
                              f"{challenge.n_classes}.")
