"""`platform/` must not shadow the standard library's `platform` module."""
import importlib
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_platform_dir_is_not_a_package():
    assert (REPO / "platform").is_dir()
    assert not (REPO / "platform" / "__init__.py").exists()


@pytest.mark.django_db
def test_stdlib_platform_inside_the_running_app(client):
    import platform

    assert platform.system()  # e.g. "Linux"
    assert Path(platform.__file__).parent == Path(sysconfig.get_paths()["stdlib"])
    # The Django app, Celery and psycopg are all loaded in this process and still see the stdlib module.
    import django.conf
    import kombu  # noqa: F401
    import psycopg2  # noqa: F401

    from proofboard.celery import app

    assert django.conf.settings.configured and app.main == "proofboard"
    assert importlib.import_module("platform") is platform
    assert client.get("/challenges/").status_code == 200
