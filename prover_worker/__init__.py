"""Proofboard prover: the Celery worker for the `prove` queue and the participant's self-hosted CLI.

    celery -A prover_worker.celery_app worker -Q prove --concurrency 1      # operator (hosted mode)
    python -m prover_worker run --platform URL --token TOKEN --model MODEL.zkm --submission ID   # participant
"""
__version__ = "1.0.0"
