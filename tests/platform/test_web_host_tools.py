"""Host tools: baselines, re-running failed jobs, the failures page; settings and CLI odds and ends."""
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse

from submissions import services
from submissions.models import Submission


@pytest.mark.django_db
def test_baseline_is_quantized_committed_proved_and_verified(client, users, challenge, onnx_bytes):
    url = reverse("challenges:baseline", args=[challenge.slug])
    client.force_login(users.alice)
    assert client.post(url, {"onnx": SimpleUploadedFile("m.onnx", onnx_bytes), "label": "b"}).status_code == 302
    assert not Submission.objects.exists()  # participants cannot add baselines
    client.force_login(users.host)
    response = client.post(url, {"onnx": SimpleUploadedFile("m.onnx", b"not onnx"), "label": "b"})
    assert "Not a valid ONNX model" in response.content.decode() and not Submission.objects.exists()
    response = client.post(url, {"onnx": SimpleUploadedFile("m.onnx", onnx_bytes), "label": "baseline"})
    entry = Submission.objects.get()
    assert response.status_code == 302 and entry.is_baseline and entry.proof_mode == "hosted"
    assert (settings.VAULT_DIR / entry.vault_path).exists()
    assert services.run_hosted_proving(entry.pk) == "proved"
    assert services.run_verification(entry.pk) == "verified"
    entry.refresh_from_db()
    assert entry.commitment_sha256 and entry.architecture["layers"][0]["in"] == 64 and not entry.late
    assert not list(settings.VAULT_DIR.iterdir())
    page = client.get(challenge.get_absolute_url()).content.decode()
    assert "badge baseline" in page


@pytest.mark.django_db
def test_rerun_failed_from_admin_and_staff_page(client, users, challenge):
    failed = Submission.objects.create(challenge=challenge, participant=users.alice, state="failed",
                                       failed_stage="verifying", reason="timed out", proof=b"x")
    client.force_login(users.alice)
    client.post(reverse("submissions:retry", args=[failed.pk]))
    failed.refresh_from_db()
    assert failed.state == "failed"  # participants cannot re-run
    client.force_login(users.host)
    client.post("/admin/submissions/submission/", {"action": "rerun_failed", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.state == "proof_received" and failed.reason == ""
    Submission.objects.filter(pk=failed.pk).update(state="failed", failed_stage="proving", reason="timed out")
    client.post(reverse("submissions:retry", args=[failed.pk]), {"next": reverse("submissions:failures")})
    failed.refresh_from_db()
    assert failed.state == "committed"


def test_database_url_parsing():
    from proofboard.settings import parse_database_url

    pg = parse_database_url("postgres://u:p%40ss@db.example:6543/name?sslmode=require")
    assert pg["ENGINE"].endswith("postgresql") and pg["NAME"] == "name" and pg["PASSWORD"] == "p@ss"
    assert pg["PORT"] == "6543" and pg["OPTIONS"] == {"connect_timeout": "10", "sslmode": "require"}
    assert pg["CONN_HEALTH_CHECKS"] is True  # a dead persistent connection is not reused
    assert parse_database_url("postgres://u@h/n?connect_timeout=3")["OPTIONS"] == {"connect_timeout": "3"}
    assert parse_database_url("sqlite:////tmp/x/db.sqlite3")["NAME"] == "/tmp/x/db.sqlite3"
    with pytest.raises(ValueError):
        parse_database_url("mysql://x/y")


def test_vault_is_outside_public_dirs():
    from pathlib import Path

    vault = Path(settings.VAULT_DIR).resolve()
    for public in (settings.MEDIA_ROOT, settings.STATIC_ROOT, *settings.STATICFILES_DIRS):
        assert Path(public).resolve() not in (vault, *vault.parents)


def test_server_error_page_has_no_traceback():
    from proofboard.errors import server_error

    factory = RequestFactory()
    html = server_error(factory.get("/challenges/"))
    assert html.status_code == 500 and b"Something went wrong" in html.content and b"Traceback" not in html.content
    api = server_error(factory.get("/api/challenges"))
    assert api.status_code == 500 and api["Content-Type"] == "application/json"


def test_prover_cli_reports_unreachable_platform(capsys, tmp_path):
    from prover_worker.cli import main

    code = main(["status", "--platform", "http://127.0.0.1:9", "--token", "x", "--submission", "1"])
    assert code == 1 and "cannot reach the platform" in capsys.readouterr().out


def test_prover_cli_max_memory_is_checked_before_anything_runs(capsys, tmp_path):
    """`proofboard-prover run --max-memory` takes an amount of memory (zkml prove --max-memory)
    and excludes --shard-size; a bad amount is a usage error that names it."""
    from prover_worker.cli import main

    base = ["run", "--platform", "http://127.0.0.1:9", "--token", "x", "--submission", "1",
            "--model", str(tmp_path / "m.zkm")]
    with pytest.raises(SystemExit):
        main(base + ["--max-memory", "lots"])
    assert "not an amount of memory: 'lots'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(base + ["--max-memory", "8G", "--shard-size", "64"])
    assert "not allowed with argument" in capsys.readouterr().err
