"""One place for each rule: the state machine (submissions/states.py), the domain exceptions and
their HTTP statuses (submissions/errors.py → api/errors.py), tasks sent by name (dispatch.py)."""
import ast
import itertools
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from api import errors as api_errors
from submissions import errors, selectors, services, states
from submissions.models import Submission

REPO = Path(__file__).resolve().parents[2]
State, ProofMode = states.State, states.ProofMode


# ---------------------------------------------------------------- the state machine

def _rows(users, challenge):
    """One row for every combination the rules look at: state, proof mode, failed stage, baseline,
    lease (none, lapsed, alive) and deadline (none, past, future)."""
    now = timezone.now()
    times = [None, now - timedelta(minutes=5), now + timedelta(minutes=5)]
    rows = [
        Submission(challenge=challenge, participant=users.alice, state=state, proof_mode=mode,
                   failed_stage=stage, is_baseline=baseline, lease_expires_at=lease, deadline_at=deadline,
                   vault_path=vault)
        for state, mode, stage, baseline, lease, deadline, vault in itertools.product(
            State.values, ProofMode.values, ["", "proving", "verifying"], [False, True], times, times, ["", "m.zkm"])
    ]
    Submission.objects.bulk_create(rows)
    return now, list(Submission.objects.filter(challenge=challenge))


@pytest.mark.django_db
def test_each_rule_is_the_same_in_the_database_and_on_a_row(users, challenge):
    """The Q of each rule (what the conditional UPDATEs and the limit count use) selects exactly the
    rows its predicate (what the pages and the status JSON use) says yes to."""
    now, rows = _rows(users, challenge)
    assert len(rows) == len(State.values) * 2 * 3 * 2 * 3 * 3 * 2
    qs = Submission.objects.filter(challenge=challenge)
    rules = {
        "final": (qs.final(), states.is_final),
        "accepts_proof": (qs.accepting_proof(), states.accepts_proof),
        "platform_job": (qs.platform_jobs(), states.is_platform_job),
        "lapsed": (qs.lapsed(now), lambda e: states.is_lapsed(e, now)),
        "counts_against_limit": (qs.counting_against_limit(now), lambda e: states.counts_against_limit(e, now)),
        "platform_failure": (qs.filter(states.platform_failure_q()), states.is_platform_failure),
        "retryable": (qs.retryable(), states.can_retry),
    }
    for name, (selected, predicate) in rules.items():
        expected = {row.pk for row in rows if predicate(row)}
        assert set(selected.values_list("pk", flat=True)) == expected, name
        assert 0 < len(expected) < len(rows), name  # each rule separates rows


def test_states_and_transitions_are_complete():
    assert set(states.TRANSITIONS) == set(State.values)
    assert states.FINAL == {State.VERIFIED, State.REJECTED, State.FAILED}
    for state in (State.VERIFIED, State.REJECTED):
        assert not states.TRANSITIONS[state]  # final for good
    # the waiting and running states of the platform's jobs are one transition apart, both ways
    for running, (waiting, _stage, job) in states.STAGES.items():
        assert states.can_move(waiting, running) and states.can_move(running, waiting)
        assert job in {"prove", "verify"}
    assert states.SOURCES[State.COMMITTED] == {State.PROVING, State.FAILED}


@pytest.mark.django_db
def test_move_allows_exactly_the_listed_transitions(users, challenge):
    for source, target in itertools.product(State.values, State.values):
        entry = Submission.objects.create(challenge=challenge, participant=users.alice, state=source)
        moved = Submission.objects.filter(pk=entry.pk).move(target)
        entry.refresh_from_db()
        assert moved == int(states.can_move(source, target)), (source, target)
        assert entry.state == (target if moved else source)


@pytest.mark.django_db
def test_status_json_exposes_the_rules_and_the_context(client, users, challenge, token_for):
    """Every state's properties in the status JSON (entry page and API) are the ones of states.py."""
    auth = {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}
    now = timezone.now()
    seen = set()
    for state, mode, stage in itertools.product(State.values, ProofMode.values, ["", "proving"]):
        entry = Submission.objects.create(challenge=challenge, participant=users.alice, state=state,
                                          proof_mode=mode, failed_stage=stage,
                                          lease_expires_at=now + timedelta(minutes=5))
        for body in (selectors.status_json(entry), client.get(f"/api/submissions/{entry.pk}", **auth).json()):
            assert body["final"] == states.is_final(entry) == (state in states.FINAL)
            assert body["accepts_proof"] == states.accepts_proof(entry)
            assert body["counts_against_limit"] == states.counts_against_limit(entry, timezone.now())
            assert body["context"] == f"proofboard/{challenge.slug}/{entry.pk}" == entry.proof_context
            seen.add((body["final"], body["accepts_proof"], body["counts_against_limit"]))
    assert len(seen) >= 4  # the properties really vary with the state


@pytest.mark.django_db
def test_entry_page_offers_the_upload_exactly_when_the_rule_says(client, users, challenge):
    client.force_login(users.alice)
    for state, mode in itertools.product(State.values, ProofMode.values):
        entry = Submission.objects.create(challenge=challenge, participant=users.alice, state=state,
                                          proof_mode=mode, failed_stage="proving" if state == State.FAILED else "")
        page = client.get(entry.get_absolute_url()).content.decode()
        assert ("Upload your proof" in page) == states.accepts_proof(entry), (state, mode)
    client.force_login(users.host)
    for state, mode, vault in itertools.product(State.values, ProofMode.values, ["", "m.zkm"]):
        entry = Submission.objects.create(challenge=challenge, participant=users.alice, state=state,
                                          proof_mode=mode, vault_path=vault,
                                          failed_stage="proving" if state == State.FAILED else "")
        page = client.get(entry.get_absolute_url()).content.decode()
        assert ("Re-run proving" in page) == states.can_retry(entry), (state, mode, vault)


def _parenthesized(text: str, start: int) -> str:
    """The text between the parenthesis at `start` and its match."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[start + 1:i]
    return text[start + 1:]


def test_states_are_written_only_through_move():
    """No module writes `state=` in an UPDATE or an ORM save except through QuerySet.move (states.py)."""
    offenders = []
    for path in (REPO / "platform").rglob("*.py"):
        if path.name == "states.py" or "migrations" in path.parts:
            continue
        text = path.read_text()
        for match in re.finditer(r"\.update\(", text):
            if re.search(r"(?<![\w.])state=", _parenthesized(text, match.end() - 1)):
                offenders.append(f"{path.relative_to(REPO)}:{text[:match.start()].count(chr(10)) + 1}")
    assert offenders == []


def test_clients_read_the_rules_from_the_status_json():
    """The prover client and the page's script take `accepts_proof`, `final` and `context` from the
    platform instead of rebuilding them."""
    cli = (REPO / "prover_worker" / "cli.py").read_text()
    assert 'status["accepts_proof"]' in cli and 'status["context"]' in cli
    assert "proofboard/" not in cli and "WAITING_STATES" not in cli and "failed_stage" not in cli
    script = (REPO / "static" / "js" / "status.js").read_text()
    assert "s.final" in script and "rejected" not in script and "failed" not in script
    view = (REPO / "platform" / "submissions" / "views.py").read_text()
    assert '"committed"' not in view and '"proving"' not in view


# ---------------------------------------------------------------- domain exceptions → HTTP

EXPECTED_ANSWER = {
    errors.BadInput: (400, "bad_input"), errors.BadUpload: (400, "bad_upload"),
    errors.UploadMismatch: (400, "upload_mismatch"), errors.CommitmentInUse: (400, "commitment_in_use"),
    errors.QuotaExceeded: (400, "quota_exceeded"), errors.ChallengeClosed: (400, "challenge_closed"),
    errors.WrongProofMode: (400, "wrong_proof_mode"), errors.WrongState: (409, "wrong_state"),
    errors.CheckUnavailable: (503, "unavailable"), errors.NotYourEntry: (404, "not_found"),
    errors.StaffOnly: (403, "permission_denied"),
}


def test_every_domain_exception_has_its_status_and_code():
    defined = {obj for obj in vars(errors).values()
               if isinstance(obj, type) and issubclass(obj, (ValidationError, PermissionDenied))
               and obj.__module__ == errors.__name__}
    assert defined == set(errors.DOMAIN_ERRORS) == set(EXPECTED_ANSWER)
    for cls, (status, code) in EXPECTED_ANSWER.items():
        assert cls in api_errors.ANSWERS  # by its own class, not inherited by accident
        assert api_errors.status_for(cls("x")) == status, cls
        assert api_errors.code_for(cls("x")) == code, cls
    assert api_errors.answer_for(ValidationError("x")) == (400, "bad_input")
    assert api_errors.answer_for(PermissionDenied("x")) == (403, "permission_denied")
    assert api_errors.answer_for(selectors.PageNotFound("x")) == (404, "not_found")
    with pytest.raises(TypeError):
        api_errors.answer_for(KeyError("not a domain exception"))


def _handlers(path: Path):
    tree = ast.parse(path.read_text())
    return [node for node in ast.walk(tree) if isinstance(node, ast.ExceptHandler)]


def test_no_view_matches_on_message_text():
    """Views never look inside an exception's message to choose an answer; the API's views never
    answer an error themselves: they raise, and api.errors.api_exception_handler answers through
    the one table."""
    for path in [REPO / "platform" / "api" / "views.py", REPO / "platform" / "submissions" / "views.py",
                 *(REPO / "platform").glob("*/views.py")]:
        for handler in _handlers(path):
            name = handler.name
            for node in ast.walk(handler):
                if isinstance(node, ast.Compare) and name:
                    mentioned = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                    assert name not in mentioned, f"{path.name}:{node.lineno} compares the exception's text"
    api_views = REPO / "platform" / "api" / "views.py"
    handlers = _handlers(api_views)
    assert handlers, "the commit view adds remaining_today to every refusal"
    for handler in handlers:  # an exception is re-raised (with fields), never answered here
        assert not any(isinstance(n, ast.Return) for n in ast.walk(handler)), f"views.py:{handler.lineno}"
        assert any(isinstance(n, ast.Raise) for n in ast.walk(handler)), f"views.py:{handler.lineno}"
    for call in ast.walk(ast.parse(api_views.read_text())):   # no error status chosen by a view
        if isinstance(call, ast.Call):
            for keyword in call.keywords:
                if keyword.arg == "status" and isinstance(keyword.value, ast.Constant):
                    assert keyword.value.value < 400, f"views.py:{call.lineno}"
    assert ".messages" not in api_views.read_text()


@pytest.fixture
def auth(users, token_for):
    return {"HTTP_AUTHORIZATION": f"Token {token_for(users.alice)}"}


@pytest.mark.django_db
def test_progress_answers_by_exception_class(client, users, challenge, zk, auth, make_challenge, token_for):
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    url = reverse("api:progress", args=[entry.pk])
    report = {"stage": "sumcheck", "percent": 10}
    assert client.post(url, report, content_type="application/json", **auth).status_code == 200
    Submission.objects.filter(pk=entry.pk).update(state=State.PROOF_RECEIVED)
    response = client.post(url, report, content_type="application/json", **auth)
    assert response.status_code == 409 and "not waiting for a proof" in response.json()["error"]
    Submission.objects.filter(pk=entry.pk).update(state=State.COMMITTED, proof_mode=ProofMode.HOSTED)
    response = client.post(url, report, content_type="application/json", **auth)
    assert response.status_code == 400 and "proved by the platform" in response.json()["error"]
    Submission.objects.filter(pk=entry.pk).update(proof_mode=ProofMode.SELF_HOSTED)
    type(challenge).objects.filter(pk=challenge.pk).update(proving_deadline=timezone.now() - timedelta(minutes=1))
    response = client.post(url, report, content_type="application/json", **auth)
    assert response.status_code == 400 and "not accepted now" in response.json()["error"]
    bob = {"HTTP_AUTHORIZATION": f"Token {token_for(users.bob)}"}
    assert client.post(url, report, content_type="application/json", **bob).status_code == 404


@pytest.mark.django_db
def test_services_raise_typed_exceptions(users, challenge, zk):
    entry = services.create_submission(users.alice, challenge, zk.commitment_bytes)
    with pytest.raises(errors.NotYourEntry):
        services.upload_proof(users.bob, entry, b"x")
    with pytest.raises(errors.BadUpload):
        services.upload_proof(users.alice, entry, b"")
    with pytest.raises(errors.StaffOnly):
        services.disqualify(users.alice, entry, "no")
    with pytest.raises(errors.CommitmentInUse):
        services.create_submission(users.bob, challenge, zk.commitment_bytes)
    respaced = zk.commitment_bytes.replace(b'{"format"', b'{ "format"', 1)
    assert respaced != zk.commitment_bytes
    with pytest.raises(errors.CommitmentInUse):      # the same commitment, other bytes
        services.create_submission(users.bob, challenge, respaced)
    type(challenge).objects.filter(pk=challenge.pk).update(max_submissions_per_day=1)
    challenge.refresh_from_db()
    with pytest.raises(errors.QuotaExceeded):
        services.create_submission(users.alice, challenge, zk.commitment_bytes)
    Submission.objects.filter(pk=entry.pk).update(state=State.VERIFIED)
    with pytest.raises(errors.WrongState):
        services.report_progress(users.alice, entry, "x", 1)


# ---------------------------------------------------------------- dispatch by name

def test_services_never_import_the_tasks_module():
    """Importing and using the services (and sending a job) loads no submissions.tasks: dispatch sends
    by name. The message really reaches the broker, named and routed like the task."""
    code = r"""
import json, sys
import django
django.setup()
from submissions import dispatch, jobs, services, uploads, vault, worker  # noqa
dispatch.send("verify", -4242)
import redis
from django.conf import settings
client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
found = []
for raw in client.lrange("verify", 0, -1):
    message = json.loads(raw)
    if dispatch._submission_of(raw, "submissions.verify") == -4242:
        found.append(message["headers"]["task"])
        client.lrem("verify", 0, raw)
print(json.dumps({"tasks_loaded": "submissions.tasks" in sys.modules, "found": found}))
"""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="proofboard.settings",
               PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "platform")]),
               CELERY_BROKER_URL=settings.CELERY_BROKER_URL, PROOFBOARD_ALLOW_INSECURE_KEY="1")
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("needs a broker (CELERY_BROKER_URL)")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"tasks_loaded": False, "found": ["submissions.verify"]}


def test_no_module_but_celery_imports_tasks():
    for path in (REPO / "platform").rglob("*.py"):
        if path.name == "tasks.py":
            continue
        text = path.read_text()
        assert not re.search(r"from \. import [^\n]*\btasks\b|import submissions\.tasks|from submissions import [^\n]*\btasks\b"
                             r"|from \.tasks import|from submissions\.tasks import", text), path


@pytest.mark.django_db
def test_commitment_rows_outside_the_prime_order_group_are_refused(users, challenge, zk):
    """A row with a torsion component added (a valid curve point, not one zkml makes) is a bad
    upload with a reason, and nothing is stored."""
    import zkml
    from zkml.arith.curve import get_backend
    from zkml.arith.field import P
    from zkml.protocols.group_checks import times

    be = get_backend()
    torsion = next(t for t in (times(q, P) for q in _curve_points(be)) if not be.is_identity(t))
    commitment = zkml.Commitment.from_bytes(zk.commitment_bytes)
    name = sorted(commitment.tensors)[0]
    commitment.tensors[name].rows[0] = be.add(commitment.tensors[name].rows[0], torsion)
    before = Submission.objects.count()
    with pytest.raises(errors.BadUpload, match=f"Row 0 of tensor {name} .* not a point of the prime-order group"):
        services.create_submission(users.bob, challenge, commitment.to_bytes())
    assert Submission.objects.count() == before


def _curve_points(be):
    for x in range(4, 100):
        try:
            yield be.from_bytes(bytes([0x80]) + bytes(46) + bytes([x]))
        except ValueError:
            continue
