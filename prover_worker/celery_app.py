"""Celery app for prover workers: the platform's app, so `prove` tasks update submissions.

Run: celery -A prover_worker.celery_app worker -Q prove --pool solo
A worker here needs the database settings and read access to the prover vault
(PROOFBOARD_VAULT_DIR); the web process never serves that directory.
"""
import sys
from pathlib import Path

_PLATFORM_DIR = Path(__file__).resolve().parents[1] / "platform"
if str(_PLATFORM_DIR) not in sys.path:
    sys.path.insert(0, str(_PLATFORM_DIR))

from proofboard import pathsetup  # noqa: E402

pathsetup.setup()

import django  # noqa: E402

django.setup()

from proofboard.celery import app  # noqa: E402

__all__ = ["app"]
