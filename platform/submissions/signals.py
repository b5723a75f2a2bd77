"""Leaderboard cache invalidation for writes that bypass the services: a verified entry created,
edited or deleted through the ORM (the admin, a data fix, a test fixture). The services and the job
code bump the version themselves, since their conditional UPDATEs send no signals."""
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from challenges.services import leaderboard_changed

from .models import Submission


@receiver(post_save, sender=Submission, dispatch_uid="submissions.board_saved")
@receiver(post_delete, sender=Submission, dispatch_uid="submissions.board_deleted")
def verified_entry_written(sender, instance: Submission, **kwargs) -> None:
    if instance.state == Submission.State.VERIFIED:
        leaderboard_changed(challenge_id=instance.challenge_id)
