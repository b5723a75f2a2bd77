"""Fixtures for the platform tests: real PostgreSQL (pytest-django), real Redis broker, real zkml.

zkml is imported lazily inside fixtures so that the modules collect even while it is
being written; tests that need a commitment or a proof use the `zk`/`zk_proof` fixtures.
"""
import io
import os
import shutil
import uuid
from datetime import timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.test.utils import override_settings
from django.utils import timezone

from browsers import chromium, pytest_runtest_makereport  # noqa: F401  (the browser fixture and its screenshot hook)

TEST_SAMPLES = 200
# The suite runs with DEBUG off and the default SECRET_KEY; the settings refuse that unless allowed
# (this process is allowed through PYTEST_VERSION; the e2e worker and demo subprocesses inherit this).
os.environ.setdefault("PROOFBOARD_ALLOW_INSECURE_KEY", "1")


@pytest.fixture(scope="session", autouse=True)
def private_dirs(tmp_path_factory):
    """Private files, media and the prover vault in a per-session temporary directory."""
    root = tmp_path_factory.mktemp("proofboard-var")
    dirs = {"PRIVATE_DIR": root / "private", "VAULT_DIR": root / "vault", "MEDIA_ROOT": root / "media"}
    for path in dirs.values():
        path.mkdir()
    override = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"], **dirs)
    override.enable()
    yield SimpleNamespace(root=root, **{k.lower(): v for k, v in dirs.items()})
    override.disable()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Each test sees an empty cache (rate-limit counters, leaderboard pages) without flushing the
    shared Redis database: a key prefix of its own."""
    caches = {name: dict(conf) for name, conf in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture(autouse=True)
def empty_vault(private_dirs):
    """Each test starts and ends with an empty prover vault."""
    yield
    for path in private_dirs.vault_dir.iterdir():
        path.unlink()


@pytest.fixture(scope="session")
def digits():
    """sklearn's bundled digits: a fixed split, the last 200 samples are the test set."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    return SimpleNamespace(train_x=x[:-TEST_SAMPLES], train_y=y[:-TEST_SAMPLES],
                           test_x=x[-TEST_SAMPLES:], test_y=y[-TEST_SAMPLES:])


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def npz():
    """npz(**arrays) -> bytes of an .npz archive."""
    return npz_bytes


@pytest.fixture(scope="session")
def test_set_bytes(digits) -> bytes:
    return npz_bytes(x=digits.test_x, y=digits.test_y)


@pytest.fixture(scope="session")
def onnx_bytes(digits) -> bytes:
    """A tiny 64→16→10 MLP exported with skl2onnx."""
    import warnings

    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(digits.train_x, digits.train_y)
    return to_onnx(clf, digits.train_x[:1], options={id(clf): {"zipmap": False}}).SerializeToString()


@pytest.fixture(scope="session")
def zk(onnx_bytes, digits, tmp_path_factory):
    """A quantized, committed model: MODEL.zkm path/bytes and COMMIT.json bytes."""
    import zkml

    root = tmp_path_factory.mktemp("zk")
    model = zkml.quantize(onnx_bytes, digits.train_x[:300])
    commitment = zkml.commit(model)
    model_path = root / "model.zkm"
    model.save(str(model_path))
    return SimpleNamespace(model_path=model_path, model_bytes=model_path.read_bytes(),
                           commitment_bytes=commitment.to_bytes(), architecture=commitment.architecture)


@pytest.fixture(scope="session")
def zk_proof(zk, test_set_bytes, tmp_path_factory):
    """A real proof of `zk`'s model on the test set (computed once per session)."""
    import zkml

    root = tmp_path_factory.mktemp("zkproof")
    dataset_path = root / "test.npz"
    dataset_path.write_bytes(test_set_bytes)
    model = zkml.QuantizedModel.load(str(zk.model_path))
    proof = zkml.prove(model, zkml.load_dataset(str(dataset_path)))
    return SimpleNamespace(proof_bytes=proof.to_bytes(), claimed_count=int(proof.claimed_count),
                           dataset_path=dataset_path)


@pytest.fixture(scope="session")
def zk2(zk, tmp_path_factory):
    """The same weights committed again with a fresh opening, saved as a second MODEL.zkm
    (a second participant's model: a commitment may be used by one participant only)."""
    import zkml

    root = tmp_path_factory.mktemp("zk2")
    model = zkml.QuantizedModel.load(str(zk.model_path))
    commitment = zkml.commit(model)
    model_path = root / "model.zkm"
    model.save(str(model_path))
    return SimpleNamespace(model_path=model_path, model_bytes=model_path.read_bytes(),
                           commitment_bytes=commitment.to_bytes(), architecture=commitment.architecture)


@pytest.fixture
def prove_for(zk, zk_proof):
    """prove_for(entry) -> proof bytes of `zk`'s model bound to the entry's context
    ("proofboard/<challenge>/<entry id>"), as `prover_worker run` makes them."""
    import zkml

    def make(entry, model_path=None) -> bytes:
        model = zkml.QuantizedModel.load(str(model_path or zk.model_path))
        dataset = zkml.load_dataset(str(zk_proof.dataset_path))
        return zkml.prove(model, dataset, context=f"proofboard/{entry.challenge.slug}/{entry.pk}").to_bytes()

    return make


@pytest.fixture(scope="session")
def other_commitment(zk):
    """A fresh commitment to the same weights (new blinding): `zk_proof` must not verify against it."""
    import zkml

    model = zkml.QuantizedModel.load(str(zk.model_path))
    return zkml.commit(model).to_bytes()


@pytest.fixture
def users(django_user_model):
    make = django_user_model.objects.create_user
    return SimpleNamespace(
        alice=make("alice", password="pw-alice-123"),
        bob=make("bob", password="pw-bob-123"),
        host=make("host", password="pw-host-123", is_staff=True, is_superuser=True),
    )


@pytest.fixture
def make_challenge(test_set_bytes):
    """Create a challenge (revealed and open by default) with the digits test set."""
    import hashlib

    from challenges.models import Challenge

    def make(slug="digits", revealed=True, **fields):
        now = timezone.now()
        defaults = dict(
            title=slug.title(), description="Classify **digits**.", n_classes=10, input_shape=[64],
            opens_at=now - timedelta(days=2),
            reveal_at=now - timedelta(hours=1) if revealed else now + timedelta(days=1),
            proving_deadline=now + timedelta(days=7), max_submissions_per_day=5,
            test_set_sha256=hashlib.sha256(test_set_bytes).hexdigest(), test_set_size=TEST_SAMPLES,
        )
        defaults.update(fields)
        challenge = Challenge(slug=slug, **defaults)
        challenge.test_set.save(f"{slug}.npz", ContentFile(test_set_bytes), save=False)
        challenge.save()
        return challenge

    return make


@pytest.fixture
def challenge(make_challenge):
    return make_challenge()


@pytest.fixture
def token_for():
    from accounts.services import create_token

    def make(user):
        return create_token(user, "test")[1]

    return make
