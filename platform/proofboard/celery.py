"""The Celery app shared by the `prove` and `verify` workers."""
from . import pathsetup

pathsetup.setup()

from celery import Celery  # noqa: E402
from celery.signals import worker_ready  # noqa: E402

app = Celery("proofboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["submissions"])


@worker_ready.connect
def report_platform_module(**_kwargs) -> None:
    """Prove at start-up that `platform` is still the standard library module in the worker."""
    import logging
    import platform

    logging.getLogger("proofboard").warning(
        "platform-check: system=%s module=%s", platform.system(), getattr(platform, "__file__", "?")
    )
