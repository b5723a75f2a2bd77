"""`make demo`'s seeding (scripts/demo.py --no-serve) works with no external service and is idempotent."""
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(var: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DEMO_DATABASE_URL")}
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


def test_demo_seeds_verified_entries_idempotently(tmp_path):
    first = _run(tmp_path)
    assert "Proofboard demo is ready: http://127.0.0.1:8000/challenges/digits/" in first
    rows = _rows(tmp_path)
    assert len(rows) == 6 and all(state == "verified" for _, state, *_ in rows)
    assert sum(late for _, _, late, *_ in rows) == 1 and sum(b for *_, b, _, _ in rows) == 1
    cnn = [r for r in rows if r[-1] == "digit-images"]   # the image challenge ranks two CNN entries
    assert len(cnn) == 2 and all(not late and count >= 170 for _, _, late, _, count, _ in cnn)
    assert not any((tmp_path / "vault").iterdir())  # hosted models deleted after proving
    second = _run(tmp_path)
    assert "already verified" in second and "training" not in second
    assert _rows(tmp_path) == rows
