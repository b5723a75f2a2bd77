"""`make demo`'s seeding (scripts/demo.py --no-serve) works with no external service and is idempotent.

The first seeding (training, proving and verifying six entries: most of these tests' time) runs
once per module; each test works on its own copy of the seeded var/ directory."""
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _demo_env() -> dict[str, str]:
    """This process's environment without the test suite's database and broker."""
    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DEMO_DATABASE_URL")}


def _run(var: Path) -> str:
    env = _demo_env()
    env["PROOFBOARD_VAR_DIR"] = str(var)
    out = subprocess.run([sys.executable, "scripts/demo.py", "--no-serve"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _rows(var: Path) -> list[tuple]:
    with sqlite3.connect(var / "demo.sqlite3") as db:
        return db.execute("select s.id, s.state, s.late, s.is_baseline, s.correct_count, c.slug "
                          "from submissions_submission s join challenges_challenge c on c.id = s.challenge_id "
                          "order by s.id").fetchall()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[Path, str]:
    """A var/ directory seeded once by a first start of the demo, and that start's output."""
    var = tmp_path_factory.mktemp("demo-seeded")
    return var, _run(var)


def _copy_of(seeded: tuple[Path, str], tmp_path: Path) -> Path:
    var = tmp_path / "var"
    shutil.copytree(seeded[0], var)
    return var


def test_demo_seeds_verified_entries_idempotently(seeded, tmp_path):
    first = seeded[1]
    var = _copy_of(seeded, tmp_path)
    assert "Proofboard demo is ready: http://127.0.0.1:8000/challenges/digits/" in first
    rows = _rows(var)
    assert len(rows) == 6 and all(state == "verified" for _, state, *_ in rows)
    assert sum(late for _, _, late, *_ in rows) == 1 and sum(b for *_, b, _, _ in rows) == 1
    cnn = [r for r in rows if r[-1] == "digit-images"]   # the image challenge ranks two CNN entries
    assert len(cnn) == 2 and all(not late and count >= 170 for _, _, late, _, count, _ in cnn)
    assert not any((var / "vault").iterdir())  # hosted models deleted after proving
    token = (var / "demo-token.txt").read_text().strip()
    assert oct((var / "demo-token.txt").stat().st_mode & 0o777) == "0o600" and token in first
    assert "challenges/digits-open/" in first and "revealed in 10 minutes" in first
    with sqlite3.connect(var / "demo.sqlite3") as db:   # a password changed between two starts
        db.execute("update auth_user set password = 'changed' where username = 'alice'")
    second = _run(var)
    assert "already verified" in second and "training" not in second
    assert _rows(var) == rows
    assert token in second                                      # the same token, printed again
    with sqlite3.connect(var / "demo.sqlite3") as db:
        assert db.execute("select password from auth_user where username = 'alice'").fetchone()[0] == "changed"
        revealed = db.execute("select reveal_at > datetime('now') from challenges_challenge "
                              "where slug = 'digits-open'").fetchone()[0]
    assert revealed == 1                                        # still open: commitments rank in the main table


def _entry_state(db_path: Path, entry: int) -> tuple:
    with sqlite3.connect(db_path, timeout=30) as db:
        return db.execute("select state, correct_count from submissions_submission where id = ?",
                          (entry,)).fetchone()


def test_demo_periodic_work_resumes_an_interrupted_verification(seeded, tmp_path):
    """A verification interrupted by a demo restart (its row left `verifying` with a lapsed lease,
    or `proof_received` with a message that died with the old process) is finished by the
    in-process periodic work, with no staff action."""
    var = _copy_of(seeded, tmp_path)
    with sqlite3.connect(var / "demo.sqlite3") as db:
        entry = db.execute("select id from submissions_submission where late = 0 and is_baseline = 0 "
                           "order by id limit 1").fetchone()[0]
        db.execute("update submissions_submission set state = 'proof_received', correct_count = null, "
                   "last_dispatched_at = datetime('now', '-1 hour') where id = ?", (entry,))
    env = _demo_env()
    env.update(PROOFBOARD_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="proofboard.settings",
               PROOFBOARD_ALLOW_INSECURE_KEY="1", CELERY_BROKER_URL="",
               DATABASE_URL=f"sqlite:///{var / 'demo.sqlite3'}")
    code = ("import sys, time; sys.path[:0] = ['platform', '.']; from proofboard import pathsetup; pathsetup.setup(); "
            "import django; django.setup(); sys.path.insert(0, 'scripts'); import demo; "
            "demo.start_periodic_work(0.5); time.sleep(120)")
    # The periodic work runs in the background until the entry is verified (or 60 s have passed).
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while _entry_state(var / "demo.sqlite3", entry)[0] != "verified" and time.monotonic() < deadline:
            assert worker.poll() is None, worker.communicate()[0]
            time.sleep(0.25)
    finally:
        worker.kill()
        output = worker.communicate()[0]
    state, count = _entry_state(var / "demo.sqlite3", entry)
    assert state == "verified" and count is not None, output
