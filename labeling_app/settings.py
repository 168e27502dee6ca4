"""ThemeLoop settings. Everything that differs between machines comes from the environment."""
import hashlib
import ipaddress
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("THEMELOOP_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)



def _flag(name: str) -> bool:
    """An on/off setting: 1, true, yes or on (any case) turn it on; anything else, or unset, leaves it off."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


DEBUG = _flag("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY") or ("insecure-dev-key-change-me" if DEBUG or _flag("THEMELOOP_DEV") else "")
if not SECRET_KEY:
    # A missing key in production must stop the app, not fall back silently.
    raise RuntimeError("SECRET_KEY is not set (set THEMELOOP_DEV=1 for a local development key)")
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# Served over HTTPS (directly or behind a TLS-terminating proxy that sets X-Forwarded-Proto): one switch turns on
# what `check --deploy` asks for — redirect to HTTPS, HSTS for a year, cookies sent over HTTPS only.
if _flag("THEMELOOP_HTTPS"):
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 365 * 24 * 3600))
    # Subdomains and the browsers' preload list too, unless SECURE_HSTS_SUBDOMAINS=0 says the domain is shared.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = os.environ.get("SECURE_HSTS_SUBDOMAINS", "1") != "0"
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
# The DEBUG error page lists settings: hide the ones that carry addresses with credentials too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "labeling_app.core.debug.SettingsHidingFilter"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "labeling_app",
]

MIDDLEWARE = [
    # First: the client's address, decided once from FORWARDED_ALLOW_IPS (below), for everything after it.
    "labeling_app.core.http.client_address.client_address_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# Repeated wrong passwords lock that username from that address out for a while (login page, token endpoint
# and admin alike): django-axes, its records in the database.
AUTHENTICATION_BACKENDS = [
    "labeling_app.projects.api.authentication.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "labeling_app.projects.api.auth.lockout_response"
AXES_VERBOSE = False
# The proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated): the nearest one's view of
# the client, never what a client wrote itself. Empty (the default): no proxy, the TCP peer is the client. The
# production server trusts none itself (gunicorn.conf.py), so this list is the one decision, and django-axes
# (lockouts per username and address) and DRF's throttles read its answer. docs/operations.md: "Behind a proxy".
FORWARDED_ALLOW_IPS = [a.strip() for a in os.environ.get("FORWARDED_ALLOW_IPS", "").split(",") if a.strip()]
for _proxy in FORWARDED_ALLOW_IPS:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"FORWARDED_ALLOW_IPS: {_proxy!r} is not an IP address or network") from None
AXES_CLIENT_IP_CALLABLE = "labeling_app.core.http.client_address.client_ip"
# API tokens expire; signing in again (or DELETE /api/auth/token/) gives a new one.
TOKEN_TTL = timedelta(hours=int(os.environ.get("TOKEN_TTL_HOURS", 24 * 7)))

ROOT_URLCONF = "labeling_app.urls"
WSGI_APPLICATION = "labeling_app.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "labeling_app.core.context_processors.redis_notice",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'themeloop.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),  # labeling_app/asgi.py sets 0
        # A kept or pooled connection is checked (an empty query) before it is used again: one PostgreSQL closed
        # while it sat idle (a restart, idle_session_timeout, a failover, pg_terminate_backend) is replaced, not
        # handed to a request that would answer 500 (tests/serving/test_dead_connections.py).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file test database, so a real Celery worker process can share it with the tests.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-themeloop.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        # Take the write lock when a transaction starts: a read-then-write transaction would otherwise
        # fail at once with "database is locked" while the worker writes.
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASE_POOL_SIZE := int(os.environ.get("DATABASE_POOL_SIZE", "0")):
    # A pool of at most this many connections per process (labeling_app/asgi.py sets it for the web server):
    # under ASGI every request runs in a thread of its own, and opening a PostgreSQL connection per request
    # cost more than the request's queries. Connections above none are closed after a minute unused.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django's pool requires it: "closing" returns to the pool
    # Health checks (set above) become psycopg-pool's `check`: a connection is tried before it is lent.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 0, "max_size": DATABASE_POOL_SIZE, "max_idle": 60,
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "30")),
    }



def _instance_of(database: Mapping[str, object]) -> str:
    """A short name for this installation, derived from the database it works on.

    Two checkouts on one Redis keep their Celery queues, cache and event channels apart by it, while web
    and worker processes of one installation (same database) share them. THEMELOOP_INSTANCE overrides it.
    """
    where = "|".join(str(database.get(k) or "") for k in ("ENGINE", "HOST", "PORT", "NAME"))
    return hashlib.sha256(where.encode()).hexdigest()[:10]


THEMELOOP_INSTANCE = os.environ.get("THEMELOOP_INSTANCE") or _instance_of(DATABASES["default"])
REDIS_KEY_PREFIX = f"themeloop:{THEMELOOP_INSTANCE}:"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
# Paper size of the PDF report: US Letter where the locale's region uses it, A4 everywhere else; the environment
# variable REPORT_PAPER ("A4" or "Letter") overrides.
LETTER_REGIONS = ("us", "ca", "mx", "ph")


def report_paper_for(language_code: str) -> str:
    """ "Letter" for a locale whose region prints on US Letter (en-us, fr-ca...), "A4" for any other."""
    region = language_code.lower().replace("_", "-").partition("-")[2]
    return "Letter" if region in LETTER_REGIONS else "A4"


REPORT_PAPER = os.environ.get("REPORT_PAPER") or report_paper_for(LANGUAGE_CODE)
# The PDF report is printed by a worker (exporting.services.report_export_run) with this headless Chromium.
REPORT_CHROMIUM = os.environ.get("REPORT_CHROMIUM") or "/usr/bin/chromium"
# How long Chromium may take to print one report before the job fails, saying so.
REPORT_PRINT_TIMEOUT_SECONDS = int(os.environ.get("REPORT_PRINT_TIMEOUT_SECONDS", 120))
# Printed reports are deleted this long after they were made (after each report asked for or printed); the row stays.
REPORT_RETENTION_HOURS = float(os.environ.get("REPORT_RETENTION_HOURS", 24))
# Chart files are drawn by vl-convert, which holds the GIL while it draws: the web server draws them in this many
# render processes of each worker (insights.services.chart_pool; labeling_app/asgi.py sets 1), other processes
# (Celery workers, commands) in their own when 0. A draw past the timeout is stopped: its request answers 503.
CHART_RENDER_PROCESSES = int(os.environ.get("CHART_RENDER_PROCESSES", "0"))
CHART_RENDER_TIMEOUT = float(os.environ.get("CHART_RENDER_TIMEOUT", 30))
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Serve app and package static files straight from their folders (no collectstatic step needed).
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        # RedisCache that answers a miss while Redis is down (labeling_app.core.cache): pages degrade, never 500.
        "BACKEND": "labeling_app.core.cache.TolerantRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX.rstrip(":"),
        # Cache calls run in requests: bounded, never retried (core.redis_breaker answers the next ones).
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1, "retry": None},
    }
}

# Celery: long jobs are acknowledged late and re-run on a lost worker; tasks guard
# themselves in the database so a redelivery cannot do the work twice.
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
# Every broker key, queue and pub/sub channel carries this installation's prefix (see THEMELOOP_INSTANCE).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 60 * 60, "global_keyprefix": REDIS_KEY_PREFIX,
    # A send (in a request, after its commit) tries to connect once: kombu's default reconnecting took about 6 s
    # per request while Redis was down (attempts 2 s apart within broker_connection_timeout). The job stays in
    # the outbox instead (jobs.services.outbox). A worker's own consumer reconnects by its own retry settings.
    "max_retries": 0, "socket_connect_timeout": 1,
    # A Redis that accepts and never answers: kombu's default waits forever. Above BRPOP's 1 s wait.
    "socket_timeout": 2,
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "labeling_app.tasks.imports.*": {"queue": "imports"},
    "labeling_app.tasks.embeddings.*": {"queue": "embeddings"},
    "labeling_app.tasks.training.*": {"queue": "training"},
    "labeling_app.tasks.discovery.*": {"queue": "embeddings"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# `celery beat` (docker-compose's `beat`; `make run`'s worker embeds it) sends these. Uploads are pruned after
# every import too; the hourly run makes them expire when nobody imports.
CELERY_BEAT_SCHEDULE = {
    "import-uploads-purge": {"task": "labeling_app.tasks.imports.import_uploads_purge", "schedule": 60 * 60},
}
# Late ack + reject_on_worker_lost redeliver a task whose worker died; a job that kills its worker every
# time would come back forever. Each job counts its deliveries and fails, saying why, past this many.
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", 3))
# Jobs asked for while Redis was down wait in the outbox (services.jobs); each worker sweeps it this often,
# sending rows whose send failed and rows older than the grace period (their web process died before sending).
JOBS_SWEEP_SECONDS = float(os.environ.get("JOBS_SWEEP_SECONDS", 10))
JOBS_SEND_GRACE_SECONDS = float(os.environ.get("JOBS_SEND_GRACE_SECONDS", 60))
# Every job (import, discovery, retrain, embedding plan and chunk) refreshes its row's heartbeat this often while
# it runs; a running row silent longer than JOB_STALE_AFTER_SECONDS lost its worker: the sweep sends it again,
# another delivery may take it over (services.job_runs). The beat must come several times within the stale limit.
JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", 15))
JOB_STALE_AFTER_SECONDS = float(os.environ.get("JOB_STALE_AFTER_SECONDS", 120))
if not 0 < JOB_HEARTBEAT_SECONDS * 2 <= JOB_STALE_AFTER_SECONDS:
    raise ImproperlyConfigured("JOB_HEARTBEAT_SECONDS must be positive and at most half of JOB_STALE_AFTER_SECONDS")
# Hard time limits per job: past it the pool process is killed (the row goes stale and is retried, up to
# JOB_MAX_ATTEMPTS). The soft limit comes JOB_SOFT_TIME_LIMIT_MARGIN_SECONDS earlier and fails the job, saying so.
IMPORT_TIME_LIMIT_SECONDS = int(os.environ.get("IMPORT_TIME_LIMIT_SECONDS", 20 * 60))
TRAINING_TIME_LIMIT_SECONDS = int(os.environ.get("TRAINING_TIME_LIMIT_SECONDS", 20 * 60))
DISCOVERY_TIME_LIMIT_SECONDS = int(os.environ.get("DISCOVERY_TIME_LIMIT_SECONDS", 30 * 60))
# Per embedding chunk (EMBEDDING_CHUNK_SIZE responses) and per plan: generous beside a chunk's usual time.
EMBEDDING_TIME_LIMIT_SECONDS = int(os.environ.get("EMBEDDING_TIME_LIMIT_SECONDS", 15 * 60))
# Per PDF report: the report's figures and charts, then Chromium's printing (REPORT_PRINT_TIMEOUT_SECONDS at most).
REPORT_TIME_LIMIT_SECONDS = int(os.environ.get("REPORT_TIME_LIMIT_SECONDS", 10 * 60))
JOB_SOFT_TIME_LIMIT_MARGIN_SECONDS = int(os.environ.get("JOB_SOFT_TIME_LIMIT_MARGIN_SECONDS", 60))
if min(IMPORT_TIME_LIMIT_SECONDS, TRAINING_TIME_LIMIT_SECONDS, DISCOVERY_TIME_LIMIT_SECONDS,
       EMBEDDING_TIME_LIMIT_SECONDS, REPORT_TIME_LIMIT_SECONDS) <= JOB_SOFT_TIME_LIMIT_MARGIN_SECONDS:
    raise ImproperlyConfigured("every *_TIME_LIMIT_SECONDS must exceed JOB_SOFT_TIME_LIMIT_MARGIN_SECONDS")
_LONGEST_TIME_LIMIT = max(IMPORT_TIME_LIMIT_SECONDS, TRAINING_TIME_LIMIT_SECONDS, DISCOVERY_TIME_LIMIT_SECONDS,
                          EMBEDDING_TIME_LIMIT_SECONDS, REPORT_TIME_LIMIT_SECONDS, CELERY_TASK_TIME_LIMIT)
# Redis hands an unacknowledged message to another worker after this long. A lost job is retried sooner, by the
# heartbeat sweep; this is the backstop for a message whose worker died before claiming its row. It must exceed
# every hard time limit, or a task still running would be delivered a second time.
CELERY_VISIBILITY_TIMEOUT_SECONDS = int(
    os.environ.get("CELERY_VISIBILITY_TIMEOUT_SECONDS", _LONGEST_TIME_LIMIT + 5 * 60))
if CELERY_VISIBILITY_TIMEOUT_SECONDS <= _LONGEST_TIME_LIMIT:
    raise ImproperlyConfigured(f"CELERY_VISIBILITY_TIMEOUT_SECONDS must exceed the longest task time limit "
                               f"({_LONGEST_TIME_LIMIT} s)")
CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = CELERY_VISIBILITY_TIMEOUT_SECONDS

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "labeling_app.projects.api.authentication.ExpiringTokenAuthentication",
    ],
    # Expensive requests per user (ScopedRateThrottle on the views that start work); 429 past the rate.
    "DEFAULT_THROTTLE_RATES": {
        "discovery": os.environ.get("THROTTLE_DISCOVERY", "6/minute"),
        "imports": os.environ.get("THROTTLE_IMPORTS", "30/minute"),
        "exports": os.environ.get("THROTTLE_EXPORTS", "30/minute"),
        # Chart files drawn on the server (PNG/SVG of an insights view): seconds of CPU each.
        "charts": os.environ.get("THROTTLE_CHARTS", "30/minute"),
    },
    # Throttles of anonymous requests key on REMOTE_ADDR, which the client-address middleware decided: with the
    # default (None) DRF would key on the raw X-Forwarded-For, which any client can vary.
    "NUM_PROXIES": 0,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "labeling_app.core.http.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "labeling_app.core.http.errors.exception_handler",
    # JSON with a nesting limit: a deeply nested body is a 400, not a RecursionError.
    "DEFAULT_PARSER_CLASSES": [
        "labeling_app.core.http.params.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ThemeLoop API",
    "DESCRIPTION": "Projects, theme sets, responses, imports and members of ThemeLoop.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's assets come from the sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # `<id:…>` (labeling_app.core.http.params.IdConverter): a database id, 1 to 2^63-1.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}},
}

# Content Security Policy: only our own scripts run; a response's text can never inject one.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Import limits: a file or response beyond these is refused with a clear error.
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", 50 * 1024 * 1024))
IMPORT_MAX_RESPONSE_CHARS = int(os.environ.get("IMPORT_MAX_RESPONSE_CHARS", 20_000))
# Rows are data rows (header excluded); XLSX is a zip, so its unpacked size is capped before it is parsed.
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", 500_000))
IMPORT_MAX_COLUMNS = int(os.environ.get("IMPORT_MAX_COLUMNS", 200))
IMPORT_MAX_UNCOMPRESSED_BYTES = int(os.environ.get("IMPORT_MAX_UNCOMPRESSED_BYTES", 200 * 1024 * 1024))
# Uploaded files are deleted this long after their import finished (succeeded or failed); the job record stays.
IMPORT_UPLOAD_RETENTION_HOURS = float(os.environ.get("IMPORT_UPLOAD_RETENTION_HOURS", 72))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

EMBEDDING_MODEL = os.environ.get("EMBEDDING_MODEL", "")
# How responses are embedded: "auto" (the backend measured fastest on this CPU at first use, cached; see
# ml.embedding_choice) or one variant of ml.embeddings.VARIANTS (onnx-int8, onnx-fp32, torch-bf16, ...).
EMBEDDING_BACKEND = os.environ.get("EMBEDDING_BACKEND", "auto")
# An embedding run is split into chunks of this many responses, one Celery task each, so that N workers on the
# embeddings queue embed about N times faster (services.embeddings).
EMBEDDING_CHUNK_SIZE = int(os.environ.get("EMBEDDING_CHUNK_SIZE", 2000))
# Threads one worker process embeds with (ONNX Runtime); 0 means every core the process may use. Set 1 to hold
# each worker to one CPU thread when several workers share a machine (with OMP_NUM_THREADS=1 for torch).
EMBEDDING_THREADS = int(os.environ.get("EMBEDDING_THREADS", 0))
# How much lower than the web server's the Celery workers' CPU priority is (Unix nice increment, 0 to 19; 0 keeps
# the same): background jobs yield the CPU to requests where both share a machine (tasks/__init__.py).
WORKER_NICENESS = min(19, max(0, int(os.environ.get("WORKER_NICENESS", 10))))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
