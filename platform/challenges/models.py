"""A challenge: a public test set (revealed at reveal_at) and its rules."""
import math
from datetime import datetime
from typing import Optional

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from .storage import private_storage


class Challenge(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True, help_text="Markdown; rendered and sanitised.")
    n_classes = models.PositiveSmallIntegerField()
    input_shape = models.JSONField(help_text="shape of one sample, e.g. [64] or [8, 8]")
    test_set = models.FileField(storage=private_storage, upload_to="testsets/")
    test_set_sha256 = models.CharField(max_length=64, editable=False)
    test_set_size = models.PositiveIntegerField(default=0, editable=False, help_text="number of samples")
    calibration_set = models.FileField(
        storage=private_storage, upload_to="calibration/", blank=True,
        help_text="optional .npz with x, used to quantize baselines before the reveal",
    )
    opens_at = models.DateTimeField(default=timezone.now)
    reveal_at = models.DateTimeField(default=timezone.now, help_text="test set published at this time")
    proving_deadline = models.DateTimeField(help_text="no commitments or proofs accepted after this")
    max_submissions_per_day = models.PositiveSmallIntegerField(default=5)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped (submissions.services.leaderboard_changed) whenever an entry becomes verified or is
    # disqualified; the leaderboard cache keys carry it, so a new final entry invalidates every
    # cached page of this challenge at once, in every process.
    board_version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-opens_at", "title"]

    def __str__(self) -> str:
        return self.title

    @property
    def test_set_filename(self) -> str:
        """The one name of the test set file: the download's, and every printed command's."""
        return f"{self.slug}-test.npz"

    def get_absolute_url(self) -> str:
        return reverse("challenges:detail", args=[self.slug])

    @property
    def input_size(self) -> int:
        """Number of input features of one sample (product of input_shape)."""
        return int(math.prod(int(d) for d in self.input_shape))

    def is_revealed(self, now: Optional[datetime] = None) -> bool:
        """True once the test set may be downloaded."""
        return (now or timezone.now()) >= self.reveal_at

    def is_open(self, now: Optional[datetime] = None) -> bool:
        """True while commitments are accepted."""
        now = now or timezone.now()
        return self.opens_at <= now <= self.proving_deadline

    def accepts_proofs(self, now: Optional[datetime] = None) -> bool:
        """True between the reveal and the proving deadline."""
        now = now or timezone.now()
        return self.reveal_at <= now <= self.proving_deadline

    @property
    def status(self) -> str:
        """Human status: upcoming, open (committing), revealed (proving), closed."""
        now = timezone.now()
        if now < self.opens_at:
            return "upcoming"
        if now > self.proving_deadline:
            return "closed"
        return "revealed" if self.is_revealed(now) else "open"
