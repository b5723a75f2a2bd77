#!/usr/bin/env python
"""One command demo: seed a digits challenge (MLPs) and a digit-images challenge (CNNs) with
proven, verified entries, then serve it.

    python scripts/demo.py            # migrate, seed (idempotent), runserver on 127.0.0.1:8000 (--port, or PORT)
    python scripts/demo.py --no-serve # seed only

Embedded defaults, no external service: SQLite under var/ (override with DEMO_DATABASE_URL)
and Celery in eager mode (tasks run in-process in a background thread). Every entry goes
through the same service functions as production: quantize → commit → prove → verify.
"""
import argparse
import io
import os
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "platform"))
sys.path.insert(0, str(REPO))
VAR = Path(os.environ.get("PROOFBOARD_VAR_DIR") or REPO / "var")
os.environ["DATABASE_URL"] = os.environ.get("DEMO_DATABASE_URL") or f"sqlite:///{VAR / 'demo.sqlite3'}"
os.environ["CELERY_BROKER_URL"] = ""  # eager: no broker, no worker to start
os.environ.setdefault("PROOFBOARD_ALLOW_INSECURE_KEY", "1")  # a local demo: the default SECRET_KEY is fine
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proofboard.settings")

TEST_SAMPLES = 200
USERS = {  # username: (password, staff)
    "host": ("host-demo-pass", True),
    "alice": ("alice-demo-pass", False),
    "bob": ("bob-demo-pass", False),
}
DESCRIPTION = """Classify 8×8 handwritten digits (scikit-learn's bundled `load_digits`, pixels scaled to [0, 1]).

* **Test set:** the last 200 samples, float32 `x` [200, 64] and int64 `y` [200].
* **Score:** the number of test samples your *committed* model classifies correctly, proven in zero knowledge.
* Your weights never leave your machine in self-hosted mode.
"""


IMAGES_DESCRIPTION = """Classify the same 8×8 digits as images: `x` is float32 [200, 1, 8, 8] ([C, H, W], raw pixel values 0–16), `y` int64 [200].

* A place for convolutional networks (Conv, BatchNorm, max/average pooling, residual blocks) exported from PyTorch.
* **Score:** the number of test samples your *committed* model classifies correctly, proven in zero knowledge.
"""
# CNNs exported once from PyTorch (tests/zkml/data/make_torch_cnn_fixture.py: trained on the
# first 1,000 digits, raw pixels); the demo needs no torch.
CNN_DIR = REPO / "tests" / "zkml" / "data"


def log(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def digits_split():
    """The fixed split: everything but the last 200 samples trains, the last 200 test."""
    import numpy as np
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    return x[:-TEST_SAMPLES], y[:-TEST_SAMPLES], x[-TEST_SAMPLES:], y[-TEST_SAMPLES:]


def train_onnx(hidden: tuple[int, ...], seed: int, train_x, train_y) -> bytes:
    """A small sklearn MLPClassifier exported with skl2onnx."""
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=hidden, max_iter=400, random_state=seed).fit(train_x, train_y)
    return to_onnx(clf, train_x[:1], options={id(clf): {"zipmap": False}}).SerializeToString()


def seed() -> None:
    """Create (or complete) the demo data; safe to run again."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.management import call_command
    from django.utils import timezone

    import zkml
    from accounts.services import create_token
    from challenges.models import Challenge
    from challenges.services import validate_test_set
    from submissions import dispatch, services
    from submissions.models import Submission

    call_command("migrate", interactive=False, verbosity=0)
    log("database migrated")
    User = get_user_model()
    users = {}
    for name, (password, staff) in USERS.items():
        user, created = User.objects.get_or_create(username=name)
        if created:  # a restart keeps passwords changed since
            user.is_staff = user.is_superuser = staff
            user.set_password(password)
            user.save()
        users[name] = user

    train_x, train_y, test_x, test_y = digits_split()
    now = timezone.now()

    def make_challenge(slug, title, description, shape, x, y):
        existing = Challenge.objects.filter(slug=slug).first()
        if existing is not None:
            log(f"challenge '{slug}' already exists")
            return existing
        buffer = io.BytesIO()
        np.savez(buffer, x=x, y=y)
        test_bytes = buffer.getvalue()
        info = validate_test_set(test_bytes, 10, shape)
        challenge = Challenge(
            title=title, slug=slug, description=description, n_classes=10, input_shape=shape,
            test_set_sha256=info.sha256, test_set_size=info.n_samples, opens_at=now - timedelta(days=7),
            reveal_at=now - timedelta(hours=1), proving_deadline=now + timedelta(days=30),
            max_submissions_per_day=5, created_by=users["host"],
        )
        challenge.test_set.save(f"{slug}-test.npz", ContentFile(test_bytes), save=False)
        challenge.save()
        log(f"challenge '{slug}' created (test set sha256 {info.sha256[:16]}…, already revealed)")
        return challenge

    challenge = make_challenge("digits", "Handwritten digits", DESCRIPTION, [64], test_x, test_y)
    raw = lambda a: (a * 16.0).reshape(-1, 1, 8, 8).astype(np.float32)  # noqa: E731 (pixels 0–16, images)
    images = make_challenge("digit-images", "Digit images (CNN)", IMAGES_DESCRIPTION, [1, 8, 8],
                            raw(test_x), test_y)

    def has_verified(user, late=False, baseline=False, board=challenge) -> bool:
        return Submission.objects.filter(challenge=board, participant=user, state="verified", late=late,
                                         is_baseline=baseline).exists()

    work = VAR / "demo-models"
    work.mkdir(parents=True, exist_ok=True)
    before_reveal = challenge.reveal_at - timedelta(hours=2)  # the seeded commitments predate the reveal

    def participant_entry(user, hidden, seed_, mode, label, committed_at, late=False, board=challenge):
        if has_verified(user, late=late, board=board):
            log(f"{user.username}: {label} already verified")
            return
        if board is challenge:
            log(f"{user.username}: training {64}→{'→'.join(map(str, hidden))}→10, quantizing, committing…")
            model = zkml.quantize(train_onnx(hidden, seed_, train_x, train_y), train_x[:300])
        else:  # hidden names a PyTorch CNN export
            log(f"{user.username}: quantizing the PyTorch CNN {hidden}, committing…")
            model = zkml.quantize((CNN_DIR / hidden).read_bytes(), raw(train_x[:300]))
        commitment = zkml.commit(model)
        model_path = work / f"{user.username}-{label}.zkm"
        model.save(str(model_path))  # the private MODEL.zkm (weights + opening)
        with dispatch.suppressed():  # the demo runs the worker steps itself, synchronously
            entry = services.create_submission(
                user, board, commitment.to_bytes(), proof_mode=mode,
                model_bytes=model_path.read_bytes() if mode == "hosted" else None, label=label, now=committed_at)
            if mode == "hosted":
                log(f"{user.username}: hosted proving of #{entry.pk}: {services.run_hosted_proving(entry.pk)}")
            else:
                started = time.monotonic()
                dataset = zkml.load_dataset(board.test_set.path)
                proof = zkml.prove(zkml.QuantizedModel.load(str(model_path)), dataset,
                                   context=entry.proof_context)
                services.upload_proof(user, entry, proof.to_bytes(), prove_seconds=time.monotonic() - started)
                log(f"{user.username}: proved #{entry.pk} locally ({proof.claimed_count}/{len(dataset.y)} claimed)")
            outcome = services.run_verification(entry.pk)
        entry.refresh_from_db()
        log(f"{user.username}: #{entry.pk} {outcome}: {entry.correct_count}/{entry.total_count}")

    participant_entry(users["alice"], (32,), 1, "self_hosted", "mlp-32", before_reveal)
    participant_entry(users["bob"], (16,), 2, "hosted", "mlp-16", before_reveal + timedelta(minutes=30))
    participant_entry(users["bob"], (24,), 3, "self_hosted", "mlp-24-late", None, late=True)
    cnn_time = images.reveal_at - timedelta(hours=2)
    participant_entry(users["alice"], "torch_digits_cnn_legacy.onnx", 0, "self_hosted", "lenet-cnn", cnn_time,
                      board=images)
    participant_entry(users["bob"], "torch_digits_cnn_res_legacy.onnx", 0, "hosted", "resnet-block-cnn",
                      cnn_time + timedelta(minutes=30), board=images)

    if has_verified(users["host"], baseline=True):
        log("host: baseline already verified")
    else:
        log("host: baseline (64→8→10) — the prove worker quantizes, commits, proves")
        with dispatch.suppressed():
            entry = services.create_baseline(users["host"], challenge, train_onnx((8,), 4, train_x, train_y),
                                             label="baseline mlp-8")
            Submission.objects.filter(pk=entry.pk).update(created_at=before_reveal - timedelta(hours=1))
            services.run_hosted_proving(entry.pk)
            outcome = services.run_verification(entry.pk)
        entry.refresh_from_db()
        log(f"host: baseline #{entry.pk} {outcome}: {entry.correct_count}/{entry.total_count}")

    # A challenge still open for commitments, its test set revealed a few minutes after the demo
    # starts: a new participant's entry committed now ranks in the main table, not as late.
    upcoming = make_challenge("digits-open", "Handwritten digits (open)", DESCRIPTION, [64], test_x, test_y)
    if not Submission.objects.filter(challenge=upcoming).exists() and upcoming.reveal_at <= now + timedelta(minutes=2):
        Challenge.objects.filter(pk=upcoming.pk).update(reveal_at=now + timedelta(minutes=10))
        log("challenge 'digits-open': test set revealed in 10 minutes (commit before then to rank in the main table)")

    # alice's API token: made once, kept (0600) under var/ and printed at every start.
    token_file = VAR / "demo-token.txt"
    if not token_file.exists():
        _, token = create_token(users["alice"], "demo")
        token_file.write_text(token)
        token_file.chmod(0o600)
    os.environ["PROOFBOARD_DEMO_TOKEN"] = token_file.read_text().strip()


def start_periodic_work(period: float) -> None:
    """What beat does in production, in-process for the eager demo: the reaper re-queues jobs a
    restart interrupted, starts hosted proving once a challenge is revealed, and re-sends lost work."""
    import threading

    from django.db import connection

    from submissions import jobs

    def loop() -> None:
        while True:
            try:
                jobs.reap()
            except Exception as exc:  # keep the demo alive; the next pass tries again
                log(f"periodic work failed: {exc}")
            finally:
                connection.close()
            time.sleep(period)

    threading.Thread(target=loop, name="demo-periodic-work", daemon=True).start()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-serve", action="store_true", help="seed the database and exit")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    args = parser.parse_args()

    from proofboard import pathsetup

    pathsetup.setup()
    import django

    django.setup()
    seed()
    url = f"http://127.0.0.1:{args.port}/"
    print(f"""
Proofboard demo is ready: {url}challenges/digits/ and {url}challenges/digit-images/
  open for new entries (test set revealed a few minutes after the first start): {url}challenges/digits-open/
  logins: host / {USERS['host'][0]} (staff, /admin/) · alice / {USERS['alice'][0]} · bob / {USERS['bob'][0]}
  alice's API token (shown once): {os.environ['PROOFBOARD_DEMO_TOKEN']}
  offline check of any entry: download its proof bundle and run
    zkml verify --commitment commitment.json --dataset digits-test.npz --proof proof.bin --context proofboard/digits/<entry id>
  (the bundle's README.txt prints the exact command; a proof is bound to its challenge and entry)
""", flush=True)
    if args.no_serve:
        return 0
    from django.core.management import call_command

    start_periodic_work(float(os.environ.get("PROOFBOARD_DEMO_PERIOD_SECONDS") or 15))
    call_command("runserver", f"127.0.0.1:{args.port}", use_reloader=False, insecure_serving=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
