"""Queuey settings: every value comes from the environment.

Defaults are safe for production (DEBUG off, secure cookies, no default secret);
`make run` and the test suite opt into development values explicitly.
"""

from __future__ import annotations

from pathlib import Path

import environ

from queuey_site.log_format import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# A development fallback exists only with DEBUG on; production must set its own secret.
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    default="dev-insecure-secret-key-change-me-0123456789abcdef" if DEBUG else environ.Env.NOTSET,
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_prometheus",
    "jobs",
    "dashboard",
    "workers",
]

MIDDLEWARE = [
    "queuey_site.operational.OperationalEndpoints",
    "queuey_site.middleware.RejectMalformedContentLength",
    "queuey_site.request_metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]
# /v1 is called with an x-api-key only, never from a browser session: its requests skip
# the middleware that serves browsers (static files, sessions, CSRF, login, messages,
# htmx): 12-21 % of a job submit's time in one process (queuey_site/handlers.py).
BROWSER_ONLY_MIDDLEWARE = {
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
}
API_MIDDLEWARE = [m for m in MIDDLEWARE if m not in BROWSER_ONLY_MIDDLEWARE]
API_PATH_PREFIX = "/v1/"

# Messages (admin only) live in the session: the default fallback storage builds a cookie
# signer on every request, API calls included (a thirtieth of a job submit).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "queuey_site.urls"
WSGI_APPLICATION = "queuey_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'queuey.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # A fresh checkout has no var/ yet; SQLite cannot create the file's folder.
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _sqlite_synchronous = env.str("QUEUEY_SQLITE_SYNCHRONOUS", default="NORMAL").upper()
    if _sqlite_synchronous not in {"NORMAL", "FULL", "EXTRA"}:
        raise environ.ImproperlyConfigured("QUEUEY_SQLITE_SYNCHRONOUS: NORMAL, FULL or EXTRA")
    _db["ENGINE"] = "queuey_site.sqlite"  # fine-grained wait for the write lock (see there)
    # Several processes write: IMMEDIATE transactions take the write lock up front so a
    # reader never has to upgrade (the source of most "database is locked" errors), and
    # the busy timeout makes writers queue instead of failing.
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("QUEUEY_SQLITE_BUSY_TIMEOUT", default=30),
            # Each batch size is a statement of its own (VALUES with N rows): the driver's
            # default cache of 128 prepared statements held ~13 MiB of them per worker.
            "cached_statements": 16,
            # NORMAL survives any process crash; FULL also an OS crash or power cut, at
            # the price of an fsync per commit.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous="
            + _sqlite_synchronous
            + ";",
        }
    )
    _db.setdefault("TEST", {})["NAME"] = env.str(
        "QUEUEY_SQLITE_TEST_NAME", default=str(BASE_DIR / "var" / "test-queuey.sqlite3")
    )
else:
    _db.setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("QUEUEY_DB_CONNECT_TIMEOUT", default=5)
    )
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db["ENGINE"] = "queuey_site.postgresql"  # health checks only after idling (see there)
        # A process stopped inside a transaction (SIGSTOP, a frozen VM) keeps its row
        # locks, and every other writer of those jobs (a worker's outcome, the watchdog)
        # waits on it: the server ends such a session after this long, and the stopped
        # process reconnects when it resumes (chaos case 3a on PostgreSQL).
        _idle_ms = int(env.float("QUEUEY_DB_IDLE_IN_TRANSACTION_TIMEOUT", default=15.0) * 1000)
        _db["OPTIONS"].setdefault("options", f"-c idle_in_transaction_session_timeout={_idle_ms}")
# Long-running loops call close_old_connections() around each unit of work; persistent
# connections with health checks make that cheap and still recover from a restart.
_db["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
_db["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One server (redis://, rediss://, unix://) or a Redis Cluster (redis+cluster://host:port,
# any one node). django-redis speaks to one server only: with a cluster, the cache (the
# sessions' fast path and the API key cache) goes to QUEUEY_CACHE_REDIS_URL, and without
# one to each process's memory (sessions stay in the database either way).
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
_cache_url = env.str(
    "QUEUEY_CACHE_REDIS_URL", default="" if "+cluster://" in REDIS_URL else REDIS_URL
)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": _cache_url,
        "KEY_PREFIX": env.str("QUEUEY_KEY_PREFIX", default="queuey") + ":cache",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
            # A throttle that cannot reach Redis lets the request through rather than 500.
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
if not _cache_url:
    CACHES["default"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Without DEBUG nothing else serves static files (htmx, Swagger UI) in the image.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# The dashboard's own login (staff only); the admin keeps its own at /admin/login/.
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:overview"
# Sessions are written to the database and read through the django-redis cache: a Redis
# restart logs nobody out, and with Redis down reads fall back to the database
# (IGNORE_EXCEPTIONS above).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Production-safe transport defaults; `make run` turns them off for plain-HTTP localhost.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = env.list("DJANGO_SILENCED_SYSTEM_CHECKS", default=[])

# The API limits bodies itself (QUEUEY_MAX_REQUEST_BYTES); Django's cap is the backstop.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("QUEUEY_MAX_REQUEST_BYTES", default=4 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Queuey API",
    "DESCRIPTION": "Submit, track and administer background jobs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Queue behaviour (read lazily through jobs.conf, never at import time elsewhere) ---
QUEUEY_KEY_PREFIX = env.str("QUEUEY_KEY_PREFIX", default="queuey")
QUEUEY_VISIBILITY_TIMEOUT = env.float("QUEUEY_VISIBILITY_TIMEOUT", default=30.0)
QUEUEY_BACKOFF_BASE = env.float("QUEUEY_BACKOFF_BASE", default=1.0)
QUEUEY_BACKOFF_FACTOR = env.float("QUEUEY_BACKOFF_FACTOR", default=2.0)
QUEUEY_BACKOFF_MAX = env.float("QUEUEY_BACKOFF_MAX", default=3600.0)
QUEUEY_MAX_ATTEMPTS = env.int("QUEUEY_MAX_ATTEMPTS", default=5)
QUEUEY_DEFAULT_TIMEOUT = env.float("QUEUEY_DEFAULT_TIMEOUT", default=300.0)
QUEUEY_DEDUPE_WINDOW = env.float("QUEUEY_DEDUPE_WINDOW", default=24 * 3600.0)
QUEUEY_MAX_PAYLOAD_BYTES = env.int("QUEUEY_MAX_PAYLOAD_BYTES", default=256 * 1024)
QUEUEY_MAX_RESULT_BYTES = env.int("QUEUEY_MAX_RESULT_BYTES", default=1024 * 1024)
QUEUEY_MAX_JSON_DEPTH = env.int("QUEUEY_MAX_JSON_DEPTH", default=64)
QUEUEY_SHUTDOWN_GRACE = env.float("QUEUEY_SHUTDOWN_GRACE", default=25.0)
QUEUEY_WATCHDOG_INTERVAL = env.float("QUEUEY_WATCHDOG_INTERVAL", default=1.0)
QUEUEY_RECONCILE_INTERVAL = env.float("QUEUEY_RECONCILE_INTERVAL", default=15.0)
# Each reconcile pass reads the unfinished jobs created since the previous pass, less
# QUEUEY_RECONCILE_RECENT seconds, and QUEUEY_RECONCILE_SWEEP older ones
# (workers/reconcile.py): its cost follows the arrival rate, not the backlog.
QUEUEY_RECONCILE_RECENT = env.float("QUEUEY_RECONCILE_RECENT", default=30.0)
QUEUEY_RECONCILE_SWEEP = env.int("QUEUEY_RECONCILE_SWEEP", default=10_000)
# How long Redis keeps a finished job's tombstone (its state), so a late, retried enqueue
# of that job does nothing.
QUEUEY_TOMBSTONE_SECONDS = env.float("QUEUEY_TOMBSTONE_SECONDS", default=60.0)
QUEUEY_OUTBOX_GRACE = env.float("QUEUEY_OUTBOX_GRACE", default=10.0)
QUEUEY_HEARTBEAT_INTERVAL = env.float("QUEUEY_HEARTBEAT_INTERVAL", default=5.0)
QUEUEY_WORKER_CONCURRENCY = env.int("QUEUEY_WORKER_CONCURRENCY", default=16)
# Partitions of the Redis keyspace, each under its own cluster hash tag (docs/SCALING.md).
# 1 keeps every key under {main}. Changing it is refused while Redis holds jobs laid out
# in another count.
QUEUEY_PARTITIONS = env.int("QUEUEY_PARTITIONS", default=1)
if not 1 <= QUEUEY_PARTITIONS <= 256:
    raise environ.ImproperlyConfigured("QUEUEY_PARTITIONS must be between 1 and 256")
QUEUEY_DEV_API_KEY = env.str("QUEUEY_DEV_API_KEY", default="dev" if DEBUG else "")
QUEUEY_WATCHDOG_METRICS_PORT = env.int("QUEUEY_WATCHDOG_METRICS_PORT", default=9101)
QUEUEY_WORKER_METRICS_PORT = env.int("QUEUEY_WORKER_METRICS_PORT", default=0)
QUEUEY_METRICS_ADDR = env.str("QUEUEY_METRICS_ADDR", default="127.0.0.1")
# Who may read the API's /metrics (queuey_site/operational.py): loopback and private
# networks, where Prometheus runs; a public client gets 403.
QUEUEY_METRICS_ALLOWED_NETWORKS = env.list(
    "QUEUEY_METRICS_ALLOWED_NETWORKS",
    default=[
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    ],
)
# REST API v1 (jobs/api): per-key and per-client-IP request rates (N/second|minute|hour|day),
# the largest batch, and the whole-body cap (the same number Django's backstop uses).
QUEUEY_API_RATE = env.str("QUEUEY_API_RATE", default="6000/minute")
QUEUEY_API_ANON_RATE = env.str("QUEUEY_API_ANON_RATE", default="120/minute")
QUEUEY_API_BATCH_MAX = env.int("QUEUEY_API_BATCH_MAX", default=1000)
QUEUEY_MAX_REQUEST_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
QUEUEY_API_RETRY_AFTER = env.int("QUEUEY_API_RETRY_AFTER", default=5)
# How long an API process trusts a key it looked up: the bound on a revocation's delay
# while Redis cannot announce it (docs/API.md, "Revoking a key").
QUEUEY_API_KEY_CACHE_SECONDS = env.float("QUEUEY_API_KEY_CACHE_SECONDS", default=5.0)
# demo.spin / demo.hang / demo.crash (jobs/handlers/faults.py), for the fault tests only.
QUEUEY_FAULT_HANDLERS = env.bool("QUEUEY_FAULT_HANDLERS", default=False)

# OpenTelemetry (jobs/tracing.py): with the SDK installed and configured by the process,
# jobs carry their submitter's trace context and each attempt runs in a linked span.
QUEUEY_TRACING = env.bool("QUEUEY_TRACING", default=False)

# QUEUEY_LOG_FORMAT=json: one JSON object per line (for a log store); text otherwise.
LOGGING = logging_config(
    fmt=env.str("QUEUEY_LOG_FORMAT", default="text"),
    level=env.str("QUEUEY_LOG_LEVEL", default="INFO"),
)
