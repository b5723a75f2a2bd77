"""Django settings, all from the environment (see README / docs/api.md)."""
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

REPO_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("PROOFBOARD_VAR_DIR", REPO_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on")."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _memory_setting(name: str) -> int | None:
    """Bytes from an amount such as "8G" (zkml.memory.parse_memory; 0: no limit, None); unset:
    three quarters of the memory this process may use (zkml.memory.default_budget)."""
    from zkml.memory import default_budget, parse_memory
    value = os.environ.get(name, "").strip()
    if not value:
        return default_budget()
    try:
        return parse_memory(value)
    except ValueError as exc:
        from django.core.exceptions import ImproperlyConfigured
        raise ImproperlyConfigured(f"{name}: {exc}") from None


def parse_database_url(url: str) -> dict:
    """Turn postgres://user:pw@host:port/name or sqlite:///path into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            # A dead connection (PostgreSQL restarted, pg_terminate_backend) is not reused: persistent
            # connections are health-checked before reuse, and the job code retries a failed write
            # once on a fresh connection (submissions/jobs.py: db_retry).
            "OPTIONS": {"connect_timeout": "10", **options},
            "CONN_MAX_AGE": int(os.environ.get("DATABASE_CONN_MAX_AGE", 0)),
            "CONN_HEALTH_CHECKS": True,
        }
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if path.startswith("//"):
            path = path[1:]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path or ":memory:", "OPTIONS": {"timeout": 30}}
    raise ValueError(f"unsupported DATABASE_URL scheme: {parsed.scheme!r}")


INSECURE_SECRET_KEY = "insecure-dev-key-change-me-in-production-please"
SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
# Refuse to run a production-like process (DEBUG off) with the public default key: sessions,
# CSRF tokens and password-reset links would be forgeable. The demo opts in with
# PROOFBOARD_ALLOW_INSECURE_KEY=1 (scripts/demo.py); so does a pytest run (pytest sets
# PYTEST_VERSION before pytest-django loads these settings; tests/platform/conftest.py also
# sets PROOFBOARD_ALLOW_INSECURE_KEY for the worker and demo subprocesses it starts).
ALLOW_INSECURE_KEY = env_bool("PROOFBOARD_ALLOW_INSECURE_KEY") or bool(os.environ.get("PYTEST_VERSION"))
if SECRET_KEY == INSECURE_SECRET_KEY and not DEBUG and not ALLOW_INSECURE_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SECRET_KEY is not set: set the SECRET_KEY environment variable to a long random value "
        "(or DEBUG=1 for development; PROOFBOARD_ALLOW_INSECURE_KEY=1 only for the demo and the tests)."
    )
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served as our own static files (the CSP allows no CDN)
    "accounts",
    "challenges",
    "submissions",
    "api",
]

MIDDLEWARE = [
    "proofboard.middleware.RequestSizeLimitMiddleware",  # first: before anything reads the body
    "proofboard.middleware.ApiJsonErrorMiddleware",  # every error under /api/ is JSON (405, 413, 429, ...)
    "django.middleware.security.SecurityMiddleware",
    "proofboard.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "proofboard.urls"
WSGI_APPLICATION = "proofboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [REPO_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": parse_database_url(os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'proofboard.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MIGRATION_MODULES = {
    "accounts": "migrations.accounts",
    "challenges": "migrations.challenges",
    "submissions": "migrations.submissions",
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "challenges:list"
LOGOUT_REDIRECT_URL = "challenges:list"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [REPO_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"

# Public uploads would go to MEDIA_ROOT, but nothing of Proofboard is served from it:
# test sets live in PRIVATE_DIR (served by a view that checks the reveal time) and
# hosted models in VAULT_DIR (never served by any URL; only workers read it).
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
PRIVATE_DIR = Path(os.environ.get("PROOFBOARD_PRIVATE_DIR", VAR_DIR / "private"))
VAULT_DIR = Path(os.environ.get("PROOFBOARD_VAULT_DIR", VAR_DIR / "vault"))

# Limits (bytes)
MAX_COMMITMENT_BYTES = int(os.environ.get("PROOFBOARD_MAX_COMMITMENT_BYTES", 1 << 20))
MAX_PROOF_BYTES = int(os.environ.get("PROOFBOARD_MAX_PROOF_BYTES", 64 << 20))
MAX_MODEL_BYTES = int(os.environ.get("PROOFBOARD_MAX_MODEL_BYTES", 64 << 20))
MAX_TEST_SET_BYTES = int(os.environ.get("PROOFBOARD_MAX_TEST_SET_BYTES", 64 << 20))
# A whole request may carry the largest upload (a hosted submission: commitment + model; a
# challenge: test set + calibration set) plus 1 MiB of headroom for the other form fields.
MAX_REQUEST_BYTES = int(os.environ.get(
    "PROOFBOARD_MAX_REQUEST_BYTES",
    max(MAX_COMMITMENT_BYTES + MAX_MODEL_BYTES, MAX_PROOF_BYTES, 2 * MAX_TEST_SET_BYTES) + (1 << 20),
))
# Views that take no file (log-in, sign-up, tokens, progress reports, ...) accept at most this
# much (RequestSizeLimitMiddleware; views marked `accepts_uploads` get MAX_REQUEST_BYTES).
MAX_FORM_BYTES = int(os.environ.get("PROOFBOARD_MAX_FORM_BYTES", 64 << 10))
# Every file the platform writes from an upload is private to its user: 0600 in 0700 directories.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DATA_UPLOAD_MAX_MEMORY_SIZE = 80 << 20
FILE_UPLOAD_MAX_MEMORY_SIZE = 8 << 20


def private_dir(path: Path) -> Path:
    """Create a directory only this user can read (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        path.chmod(0o700)
    except OSError:
        pass
    return path


# Uploads larger than FILE_UPLOAD_MAX_MEMORY_SIZE are spooled here (not the shared /tmp).
FILE_UPLOAD_TEMP_DIR = str(private_dir(Path(os.environ.get("PROOFBOARD_UPLOAD_TEMP_DIR", VAR_DIR / "tmp"))))

# Deadlines for running states (seconds): the hard limit of one attempt.
# Hosted proving of test sets larger than this many samples runs in shards of this size, one
# after the other, so a worker's memory is one shard's (zkml prove --shard-size; 0 = chosen by
# PROOFBOARD_PROVER_MEMORY).
PROVING_SHARD_SIZE = int(os.environ.get("PROOFBOARD_SHARD_SIZE", 0))
# Otherwise the shard size is chosen so that a proving job's estimated peak memory stays under
# PROOFBOARD_PROVER_MEMORY (e.g. "8G"; zkml prove --max-memory; 0 = no limit): by default three
# quarters of the memory the worker may use (the container's limit if lower), for a proving
# queue run with --concurrency 1, so a large test set is proved in shards instead of getting
# the worker killed for lack of memory.
PROVING_MEMORY_BYTES = _memory_setting("PROOFBOARD_PROVER_MEMORY")
PROVING_TIMEOUT = int(os.environ.get("PROOFBOARD_PROVING_TIMEOUT", 3600))
VERIFYING_TIMEOUT = int(os.environ.get("PROOFBOARD_VERIFYING_TIMEOUT", 1800))
# Job leases (docs/platform.md, "Leases and recovery"): a running job is held by a lease its worker
# renews every JOB_HEARTBEAT_SECONDS; the reaper (beat, every JOB_REAPER_SECONDS) re-queues a job
# whose lease lapsed, at most JOB_MAX_ATTEMPTS attempts per stage, then marks it failed. It also
# re-sends a waiting job's message when the broker no longer holds it.
JOB_HEARTBEAT_SECONDS = float(os.environ.get("PROOFBOARD_HEARTBEAT_SECONDS", 10))
JOB_LEASE_SECONDS = float(os.environ.get("PROOFBOARD_LEASE_SECONDS", 3 * JOB_HEARTBEAT_SECONDS))
JOB_REAPER_SECONDS = float(os.environ.get("PROOFBOARD_REAPER_SECONDS", 15))
JOB_MAX_ATTEMPTS = int(os.environ.get("PROOFBOARD_MAX_ATTEMPTS", 3))
# A hosted model leaves the vault once its entry is verified or rejected; after a platform failure it
# is kept this long (seconds) so staff can re-run the job, then deleted too.
FAILED_MODEL_RETENTION = float(os.environ.get("PROOFBOARD_FAILED_MODEL_RETENTION", 86400))

# Celery: with CELERY_BROKER_URL set (redis://...), tasks go to the `prove` and `verify`
# queues. Without it (the demo), tasks run in-process ("eager"), in a background thread.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "verify"
CELERY_TASK_ROUTES = {
    "submissions.prove": {"queue": "prove"},
    "submissions.verify": {"queue": "verify"},
    "submissions.reap_jobs": {"queue": "verify"},
    "submissions.sweep_vault": {"queue": "prove"},  # only prove workers can read the vault
}
# Beat messages expire after one period: a backlog while workers are down stays one message per
# period (jobs themselves are never re-sent while their message is still queued: jobs.reap).
CELERY_BEAT_SCHEDULE = {
    "reap-jobs": {"task": "submissions.reap_jobs", "schedule": JOB_REAPER_SECONDS,
                  "options": {"expires": JOB_REAPER_SECONDS}},
    "sweep-vault": {"task": "submissions.sweep_vault", "schedule": JOB_REAPER_SECONDS,
                    "options": {"expires": JOB_REAPER_SECONDS}},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # a worker waits for the broker to come back, forever
# Redis redelivers an unacknowledged message (acks_late) after this long. Nothing relies on it: a
# killed worker's job is re-queued by the reaper once its lease lapses, and a redelivered (or
# restored, after a broker reconnect) message never runs a job whose lease is alive.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": max(PROVING_TIMEOUT, VERIFYING_TIMEOUT) + 600}

# ---------------------------------------------------------------- cache
# The leaderboard cache and the rate-limit counters. Several gunicorn workers (and hosts) must share
# them, so a deployment with Redis uses Redis: PROOFBOARD_CACHE_URL, else CELERY_BROKER_URL when it is
# a redis:// URL (keys under the "proofboard" prefix). Without Redis (the demo) each process has its
# own in-memory cache: correct, but rate limits then count per process.
CACHE_URL = os.environ.get("PROOFBOARD_CACHE_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
                          "KEY_PREFIX": os.environ.get("PROOFBOARD_CACHE_PREFIX", "proofboard"), "TIMEOUT": 300}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "proofboard",
                          "TIMEOUT": 300}}
# Leaderboard pages (HTML and JSON): rows per page, and how long a rendered page stays cached (its
# key carries the challenge's board_version, bumped when an entry becomes verified or is
# disqualified, so the timeout only bounds memory, never staleness).
LEADERBOARD_PAGE_SIZE = int(os.environ.get("PROOFBOARD_LEADERBOARD_PAGE_SIZE", 50))
LEADERBOARD_MAX_PAGE_SIZE = int(os.environ.get("PROOFBOARD_LEADERBOARD_MAX_PAGE_SIZE", 200))
LEADERBOARD_CACHE_SECONDS = int(os.environ.get("PROOFBOARD_LEADERBOARD_CACHE_SECONDS", 600))


def parse_rate(value: str) -> tuple[int, int]:
    """"10/60" -> (10 requests, per 60 seconds); "0/60" disables the limit."""
    count, _, seconds = value.partition("/")
    return int(count), int(seconds or 60)


# Rate limits (proofboard/ratelimit.py): fixed windows, "requests/seconds", counted per client IP and
# per account (the submitted username for log-in). Over the limit: 429 with Retry-After.
RATE_LIMITS = {
    scope: parse_rate(os.environ.get(f"PROOFBOARD_RATE_{scope.upper()}", default))
    for scope, default in {
        "login": "10/300",     # log-in attempts (POST)
        "signup": "5/3600",    # accounts created
        "token": "10/3600",    # API tokens created
        "upload": "30/3600",   # commitments and proofs uploaded (web and API)
    }.items()
}

# ---------------------------------------------------------------- REST API (Django REST Framework)
# Token authentication only (no sessions: no CSRF surface), JSON only, every error {"code", "detail",
# "error"} (api/errors.py), the hardened JSON parser for small bodies (api/parsers.py). Upload views
# add their throttle (the "upload" rate limit above) and parsers themselves.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.FlatJSONParser"],
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Proofboard API",
    "DESCRIPTION": "Zero-knowledge ML evaluation competitions. Authenticate with `Authorization: Token <key>` "
                   "(create keys on /accounts/tokens/). Every error is JSON: `code` (stable), `detail` "
                   "(human), `error` (= detail). See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVERS": [{"url": "/api"}],
    "SCHEMA_PATH_PREFIX": "/api",
    "SCHEMA_PATH_PREFIX_TRIM": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"SubmissionStateEnum": "submissions.states.State",
                            "ProofModeEnum": "submissions.states.ProofMode"},
}

# ---------------------------------------------------------------- transport security
# Secure by default: with DEBUG off, HTTPS only (redirect, HSTS, secure cookies), so
# `manage.py check --deploy --fail-level WARNING` passes with only SECRET_KEY, DEBUG=0 and
# ALLOWED_HOSTS set. Plain http is for a local process only: DEBUG, or the demo and the tests (they
# run with the public development key, PROOFBOARD_ALLOW_INSECURE_KEY), or PROOFBOARD_LOCAL_HTTP=1.
LOCAL_HTTP = env_bool("PROOFBOARD_LOCAL_HTTP", DEBUG or (SECRET_KEY == INSECURE_SECRET_KEY and ALLOW_INSECURE_KEY))
# Behind a TLS-terminating reverse proxy (nginx, a load balancer) that sets X-Forwarded-Proto and
# X-Forwarded-For: PROOFBOARD_BEHIND_PROXY=1 trusts those two headers (and nothing else does).
BEHIND_PROXY = env_bool("PROOFBOARD_BEHIND_PROXY")
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("PROOFBOARD_SSL_REDIRECT", not LOCAL_HTTP)
SECURE_HSTS_SECONDS = int(os.environ.get("PROOFBOARD_HSTS_SECONDS", 0 if LOCAL_HTTP else 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PROOFBOARD_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("PROOFBOARD_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = env_bool("PROOFBOARD_SECURE_COOKIES", not LOCAL_HTTP)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_FAILURE_VIEW = "proofboard.errors.csrf_failure"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content-Security-Policy of every page (ContentSecurityPolicyMiddleware): scripts and styles only
# from our own static files, no inline code (Django's admin templates have none either), no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
