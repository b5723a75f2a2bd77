"""A submission: a weight commitment, then a proof, then a verification result."""
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from challenges.models import Challenge

from . import states


class Submission(models.Model):
    State = states.State
    ProofMode = states.ProofMode

    objects = states.SubmissionQuerySet.as_manager()

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="submissions")
    participant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    label = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, help_text="commitment time")
    updated_at = models.DateTimeField(auto_now=True)

    commitment = models.BinaryField(null=True, blank=True)
    commitment_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    architecture = models.JSONField(default=dict, blank=True)
    parameter_count = models.PositiveBigIntegerField(default=0)
    proof_mode = models.CharField(max_length=16, choices=ProofMode.choices, default=ProofMode.SELF_HOSTED)
    is_baseline = models.BooleanField(default=False)
    late = models.BooleanField(default=False, help_text="committed after the test set was revealed")

    state = models.CharField(max_length=16, choices=State.choices, default=State.COMMITTED, db_index=True)
    failed_stage = models.CharField(max_length=16, blank=True, help_text="proving or verifying, when failed")
    reason = models.TextField(blank=True, help_text="why it was rejected or failed")
    progress_stage = models.CharField(max_length=80, blank=True)
    progress_percent = models.PositiveSmallIntegerField(default=0)
    deadline_at = models.DateTimeField(null=True, blank=True,
                                       help_text="hard limit of the running attempt (PROOFBOARD_*_TIMEOUT)")
    lease_expires_at = models.DateTimeField(null=True, blank=True,
                                            help_text="the running attempt's lease, renewed by its heartbeat")
    last_dispatched_at = models.DateTimeField(null=True, blank=True,
                                              help_text="when the last prove/verify message was sent")
    attempts = models.PositiveIntegerField(default=0, help_text="attempts at the current stage")
    claimed_by = models.CharField(max_length=255, blank=True,
                                  help_text="token of the attempt holding the running state (host:pid:random)")
    vault_path = models.CharField(max_length=255, blank=True, help_text="file name inside the prover vault")

    proof = models.BinaryField(null=True, blank=True)
    proof_size = models.PositiveIntegerField(default=0)
    claimed_count = models.PositiveIntegerField(null=True, blank=True)
    proof_uploaded_at = models.DateTimeField(null=True, blank=True)
    prove_seconds = models.FloatField(null=True, blank=True)
    verify_seconds = models.FloatField(null=True, blank=True)
    correct_count = models.PositiveIntegerField(null=True, blank=True)
    total_count = models.PositiveIntegerField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_record = models.JSONField(default=dict, blank=True)

    disqualified = models.BooleanField(default=False)
    disqualified_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["challenge", "state", "disqualified"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.participant} on {self.challenge.slug} ({self.state})"

    def get_absolute_url(self) -> str:
        return reverse("submissions:detail", args=[self.pk])

    @property
    def proof_context(self) -> str:
        """The zkml `context` a proof of this entry is bound to: "proofboard/<challenge>/<entry id>".

        A proof made for one entry does not verify under another, so a published proof bundle
        cannot be replayed under someone else's (or another) entry.
        """
        return f"proofboard/{self.challenge.slug}/{self.pk}"

    @property
    def verified_context(self) -> str:
        """The context the platform verified the proof with: recorded at verification; "" for an
        entry verified before proofs were bound to their entry (its record has no "context")."""
        record = self.verification_record or {}
        return record.get("context", "") if record else self.proof_context

    @property
    def verify_command(self) -> str:
        """The offline check of this entry's proof bundle: run in the unzipped bundle, with the test set
        downloaded next to it under the name the challenge page serves it with, and only the
        participant package (`pip install .`, console script `zkml`) installed."""
        command = (f"zkml verify --commitment commitment.json --dataset {self.challenge.test_set_filename} "
                   "--proof proof.bin")
        context = self.verified_context
        return f"{command} --context {context}" if context else command

    # The state machine's rules for this row (submissions/states.py is where they are written).

    @property
    def is_final(self) -> bool:
        return states.is_final(self)

    @property
    def accepts_proof(self) -> bool:
        return states.accepts_proof(self)

    @property
    def can_retry(self) -> bool:
        return states.can_retry(self)

    def counts_against_limit(self, now=None) -> bool:
        return states.counts_against_limit(self, now or timezone.now())

    @property
    def accuracy(self) -> float | None:
        """Proven accuracy in percent, or None until verified."""
        if self.correct_count is None or not self.total_count:
            return None
        return 100.0 * self.correct_count / self.total_count

    @property
    def architecture_summary(self) -> str:
        """E.g. '64→16→10' or 'Conv 3×3×6 → MaxPool 2 → 96→10' (zkml's layer summary)."""
        from zkml.layers.spec import summary

        layers = (self.architecture or {}).get("layers") or []
        try:
            return summary(self.architecture)
        except Exception:  # validated at upload; a partial record still renders its sizes
            if not layers:
                return "—"
            return "→".join([str(layers[0].get("in", "?"))] + [str(layer.get("out", "?")) for layer in layers])

    @property
    def layer_count(self) -> int:
        """Number of layers (dense, convolution and pooling)."""
        return len((self.architecture or {}).get("layers") or [])
