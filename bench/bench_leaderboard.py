"""Load benchmark of the public leaderboard (issue 9, item 4): a challenge with N verified entries,
a real gunicorn on 127.0.0.1, and C bounded loopback clients that read the challenge page and the
leaderboard JSON. Writes req/s and p50/p99 per URL to bench/leaderboard_results.json and prints a
table (docs/platform.md, "Leaderboard at scale", quotes the medians of several runs).

    python bench/bench_leaderboard.py                       # 2,000 entries, 8 clients, 3 runs
    python bench/bench_leaderboard.py --tree /tmp/pb-main   # the same load against another checkout
                                                            # (e.g. `git archive main | tar -x -C ...`)

Needs PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_CACHE_URL; defaults below: a database of its
own and Redis db 10 under the key prefix "bench"). Everything is bounded: --requests per client per
run, --timeout per request, and a wall-clock --deadline for the whole load phase. Loopback only.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
SLUG = "bench-board"
TARGET_P99_MS = 300.0


def server_env(args, var_dir: Path) -> dict:
    """The production-like settings of the server under test: DEBUG off, a real key, Redis cache,
    persistent database connections; plain http on loopback (PROOFBOARD_LOCAL_HTTP)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROOFBOARD_", "PYTEST"))}
    env.update(DEBUG="0", SECRET_KEY="bench-" + secrets.token_urlsafe(40), ALLOWED_HOSTS="127.0.0.1",
               DATABASE_URL=args.database_url, DATABASE_CONN_MAX_AGE="60", CELERY_BROKER_URL="",
               PROOFBOARD_CACHE_URL=args.cache_url, PROOFBOARD_CACHE_PREFIX=f"bench-{secrets.token_hex(4)}",
               PROOFBOARD_LOCAL_HTTP="1", PROOFBOARD_VAR_DIR=str(var_dir), LOG_LEVEL="ERROR")
    return env


def ensure_database(url: str) -> None:
    """CREATE DATABASE if it does not exist (the benchmark never touches another database)."""
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    conn = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                            password=parsed.password or None, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def seed(env: dict, entries: int) -> None:
    """Migrate, then (re)create the benchmark challenge with `entries` verified entries from 200
    participants, in a subprocess with the server's settings."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    code = f"""
import hashlib, io, numpy as np
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone
from challenges.models import Challenge
from challenges.services import leaderboard_changed
from submissions.models import Submission
Challenge.objects.filter(slug={SLUG!r}).delete()
buf = io.BytesIO(); rng = np.random.default_rng(0)
np.savez(buf, x=rng.random((200, 64), dtype=np.float32), y=rng.integers(0, 10, 200))
data = buf.getvalue(); now = timezone.now()
c = Challenge(slug={SLUG!r}, title="Bench board", description="Load benchmark: **{entries}** entries.",
              n_classes=10, input_shape=[64], opens_at=now - timedelta(days=30), reveal_at=now + timedelta(days=1),
              proving_deadline=now + timedelta(days=7), test_set_sha256=hashlib.sha256(data).hexdigest(),
              test_set_size=200)
c.test_set.save("bench.npz", ContentFile(data), save=False); c.save()
User = get_user_model()
users = [User.objects.get_or_create(username=f"bench{{i:03d}}")[0] for i in range(200)]
arch = {{"layers": [{{"kind": "dense", "in": 64, "out": 32}}, {{"kind": "dense", "in": 32, "out": 10}}],
        "parameter_count": 2410}}
rows = [Submission(challenge=c, participant=users[i % 200], commitment=b"{{}}", proof=b"p" * 64, proof_size=98304,
                   state="verified", correct_count=int(rng.integers(100, 200)), total_count=200, verified_at=now,
                   created_at=now - timedelta(minutes={entries} - i), label=f"run-{{i}}", architecture=arch,
                   parameter_count=2410, prove_seconds=12.5, verify_seconds=0.8,
                   proof_mode="hosted" if i % 3 else "self_hosted", late=(i % 50 == 0),
                   disqualified=(i % 97 == 0), disqualified_reason="duplicate account" if i % 97 == 0 else "",
                   verification_record={{"correct_count": 1}})
        for i in range({entries})]
Submission.objects.bulk_create(rows, batch_size=500)
leaderboard_changed(challenge_id=c.pk)
print(Submission.objects.filter(challenge=c, state="verified").count())
"""
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"seeding failed:\n{out.stderr[-3000:]}")
    print(f"seeded {out.stdout.strip().splitlines()[-1]} verified entries on /challenges/{SLUG}/")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(tree: Path, env: dict, port: int, workers: int) -> subprocess.Popen:
    """gunicorn (sync workers) serving `tree`'s WSGI application on 127.0.0.1:port."""
    cmd = [sys.executable, "-m", "gunicorn", "--chdir", str(tree / "platform"), "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--timeout", "60", "--log-level", "warning", "proofboard.wsgi:application"]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            status, _, _ = fetch(port, "/api/challenges", timeout=5)
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise RuntimeError("gunicorn did not answer within 60 s")


def stop(proc: subprocess.Popen) -> None:
    """Stop the gunicorn we started (its own process group), politely, then firmly."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def fetch(port: int, path: str, timeout: float) -> tuple[int, int, float]:
    """GET path over a fresh loopback connection: (status, body bytes, seconds)."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        body = response.read()
        return response.status, len(body), time.perf_counter() - t0
    finally:
        conn.close()


def load(port: int, paths: list[str], clients: int, requests: int, timeout: float, deadline: float) -> dict:
    """`clients` threads, each making `requests` GETs alternating over `paths` (bounded by the
    deadline). Per path: count, errors, p50/p99 in ms, bytes; overall req/s."""
    times: dict[str, list[float]] = {p: [] for p in paths}
    errors: dict[str, int] = {p: 0 for p in paths}
    sizes: dict[str, int] = {p: 0 for p in paths}
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline

    def client(k: int) -> None:
        for i in range(requests):
            if time.monotonic() > stop_at:
                return
            path = paths[(i + k) % len(paths)]
            try:
                status, size, seconds = fetch(port, path, timeout)
            except OSError:
                status, size, seconds = 0, 0, timeout
            with lock:
                times[path].append(seconds)
                sizes[path] = size
                if status != 200:
                    errors[path] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    total = sum(len(v) for v in times.values())
    return {
        "requests": total, "seconds": round(wall, 3), "req_per_s": round(total / wall, 1),
        "paths": {p: {"requests": len(v), "errors": errors[p], "bytes": sizes[p],
                      "p50_ms": round(1000 * quantile(v, 0.50), 1), "p99_ms": round(1000 * quantile(v, 0.99), 1),
                      "req_per_s": round(len(v) / wall, 1)} for p, v in times.items()},
    }


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (p99 of 200 samples is the 198th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=50, help="per client per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds per run, at most")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose platform/ gunicorn serves")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/proofboard_scale_bench"))
    parser.add_argument("--cache-url", default=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/10"))
    parser.add_argument("--no-seed", action="store_true", help="reuse the entries of a previous run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "leaderboard_results.json")
    args = parser.parse_args()

    paths = [f"/challenges/{SLUG}/", f"/api/challenges/{SLUG}/leaderboard"]
    with tempfile.TemporaryDirectory(prefix="pb-bench-") as tmp:
        env = server_env(args, Path(tmp))
        ensure_database(args.database_url)
        if not args.no_seed:
            seed(env, args.entries)
        port = free_port()
        proc = start_gunicorn(args.tree.resolve(), env, port, args.workers)
        try:
            alone = {}
            for path in paths:  # one reader: the first (uncached) request, a warm-up of every worker, then 9
                cold = fetch(port, path, args.timeout)
                for _ in range(2 * args.workers):
                    fetch(port, path, args.timeout)
                warm = sorted(fetch(port, path, args.timeout)[2] for _ in range(9))
                alone[path] = {"status": cold[0], "bytes": cold[1], "first_ms": round(1000 * cold[2], 1),
                               "median_ms": round(1000 * warm[4], 1)}
            runs = [load(port, paths, args.clients, args.requests, args.timeout, args.deadline)
                    for _ in range(args.runs)]
        finally:
            stop(proc)

    summary = {p: {k: statistics.median(r["paths"][p][k] for r in runs) for k in ("p50_ms", "p99_ms", "req_per_s")}
               for p in paths}
    doc = {
        "tree": str(args.tree.resolve()), "entries": args.entries, "clients": args.clients,
        "requests_per_client": args.requests, "runs": args.runs, "gunicorn_workers": args.workers,
        "single_reader": alone, "load_runs": runs, "median_of_runs": summary,
        "req_per_s_total_median": statistics.median(r["req_per_s"] for r in runs),
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": all(s["p99_ms"] <= TARGET_P99_MS for s in summary.values())
        and all(r["paths"][p]["errors"] == 0 for r in runs for p in paths),
        "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count()},
    }
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"{args.entries} verified entries, {args.clients} clients x {args.requests} requests, "
          f"{args.runs} runs, gunicorn -w {args.workers} ({args.tree.resolve()})")
    print(f"| {'URL':<40} | {'bytes':>9} | {'alone ms':>8} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} |")
    print(f"|{'-' * 42}|{'-' * 11}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
    for p in paths:
        s, a = summary[p], alone[p]
        print(f"| {p:<40} | {a['bytes']:>9} | {a['median_ms']:>8} | {s['req_per_s']:>7} | {s['p50_ms']:>7} | "
              f"{s['p99_ms']:>7} |")
    errors = sum(r["paths"][p]["errors"] for r in runs for p in paths)
    print(f"total {doc['req_per_s_total_median']} req/s (median of runs), {errors} errors; "
          f"p99 target {TARGET_P99_MS:.0f} ms: {'met' if doc['meets_target'] else 'NOT met'}")
    print(f"wrote {args.out}")
    return 0 if doc["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
