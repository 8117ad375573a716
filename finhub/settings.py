"""FinHub settings, read from the environment (12-factor).

Nothing set gives the embedded default: SQLite under ``var/`` and a Celery broker on the
local filesystem, so web, worker and beat run on one machine with no servers.
``DATABASE_URL`` / ``CELERY_BROKER_URL`` / ``REDIS_URL`` switch to PostgreSQL and Redis;
``DJANGO_ENV=production`` turns on the production hardening and makes the secrets required.
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static
from django_guid.integrations import CeleryIntegration

from finhub.core import queues, theme

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FINHUB_VAR_DIR", BASE_DIR / "var"))
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)  # local state: database, broker, static

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}"
    )
IS_PRODUCTION = DJANGO_ENV == "production"
# pytest (>= 8.2) exports PYTEST_VERSION while it runs; tests get their own broker folder
# so they never feed a worker started by `make run`.
RUNNING_TESTS = "PYTEST_VERSION" in os.environ

DEBUG = env.bool("DEBUG", default=not IS_PRODUCTION)
if IS_PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")  # required: ImproperlyConfigured when missing
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must name at least one host in production")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-not-secret-" + "x" * 40)
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.import_export",
    "unfold.contrib.simple_history",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "import_export",
    "simple_history",
    "django_htmx",
    "django_guid",
    "axes",
    "finhub.core",
    "records",
    "connectors",
    "metrics",
    "dashboards",
    "roadmap",
    "overview",
    "operations",
    "alerts",
    "reports",
    "closing",
    "benchmarks",
]

MIDDLEWARE = [
    "django_guid.middleware.guid_middleware",
    # Near the top, so a request's time includes every middleware below (sessions, auth,
    # the login check, ...) as well as the view: the server time a user waits for. Only the
    # request id comes first, so a warning from a timing flush carries it.
    "operations.middleware.RequestTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "finhub.core.middleware.LoginRequiredExceptApiMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "finhub.urls"
WSGI_APPLICATION = "finhub.wsgi.application"
ASGI_APPLICATION = "finhub.asgi.application"

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
                "finhub.core.context_processors.navigation",
                "alerts.context_processors.alerts_bell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'finhub.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # web, worker and beat share the file: WAL lets readers run beside one writer,
        # IMMEDIATE takes the write lock up front so a busy file waits instead of failing.
        "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, so worker processes started by tests can see the test data; one per
    # pytest process, so two test runs in one checkout never share (and corrupt) a file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes' INCLUDE columns (deals) serve PostgreSQL's index-only scans; SQLite, the
# embedded default, builds the same indexes without them, so its warning asks nothing of anyone.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
DATABASE_IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- Cache (Redis when REDIS_URL is set) ----------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if RUNNING_TESTS:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Reverse proxies in front of FinHub that append the client's address to X-Forwarded-For;
# only they are believed (finhub/core/client_address.py). 0: the socket's address.
FINHUB_TRUSTED_PROXIES = env.int("FINHUB_TRUSTED_PROXIES", default=0)

# Login brute force (django-axes), on /accounts/login/ and /admin/login/ alike: after
# AXES_FAILURE_LIMIT failures for one username, or from one address, both are refused with
# the lockout page (429) until AXES_COOLOFF_TIME passes without another failure, or an
# admin unlocks (finhub/core/lockouts.py: the user admin's action, `manage.py unlock_login`).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out logins
    "django.contrib.auth.backends.ModelBackend",
]
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each counted on its own
AXES_FAILURE_LIMIT = env.int("FINHUB_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("FINHUB_LOGIN_COOLOFF_MINUTES", default=15))
AXES_CLIENT_IP_CALLABLE = "finhub.core.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "finhub.core.lockouts.login_lockout_response"  # 429 + Retry-After
# Counters in Redis when there is one (shared by every process, no database write per
# failed login); otherwise in the database, since the local-memory cache is per process.
AXES_HANDLER = (
    "axes.handlers.cache.AxesCacheHandler"
    if REDIS_URL
    else "axes.handlers.database.AxesDatabaseHandler"
)
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # database handler: each failure, for the audit
# Each failure and lockout is logged (WARNING, logger "axes") with the client address and the
# page; the username is masked, since people type passwords into it. No banner at startup:
# it would go to the stdout of every management command.
AXES_SENSITIVE_PARAMETERS = ["username"]
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

# --- Static files (served by WhiteNoise; no CDN) --------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
if IS_PRODUCTION:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# --- Production hardening -------------------------------------------------------------
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # The load balancer probes these over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(
        env.str(
            "CELERY_FILESYSTEM_BROKER_DIR",
            default=str(VAR_DIR / ("test-broker" if RUNNING_TESTS else "broker")),
        )
    )
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # default is ./control, in the repo
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A queue per workload (finhub/core/queues.py says which task goes where, and why).
# FINHUB_QUEUE_PREFIX is for tests: their messages never reach a `make run` worker on the
# same Redis, and each test that starts workers gets queues of its own.
FINHUB_QUEUE_PREFIX = env.str(
    "FINHUB_QUEUE_PREFIX", default="finhub-test-" if RUNNING_TESTS else ""
)
CELERY_TASK_ROUTES = ("finhub.core.queues.route_task",)
CELERY_TASK_DEFAULT_QUEUE = FINHUB_QUEUE_PREFIX + queues.DEFAULT
CELERY_TASK_QUEUES = queues.task_queues(FINHUB_QUEUE_PREFIX)  # a worker without -Q takes all
# Stopping (SIGTERM, with REMAP_SIGTERM=SIGQUIT in the worker's environment: Procfile,
# docs/operations.md): running tasks get this long to finish, then they are cancelled and,
# being acks_late, their messages go back to the queue for the next worker. The worker
# exits within this + ~5 s (the filesystem broker polls every 2 s); the supervisor's stop
# timeout must be longer (make run's honcho kills after 5 s).
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("FINHUB_WORKER_SOFT_SHUTDOWN_SECONDS", default=1.0)
CELERY_TASK_IGNORE_RESULT = True  # the database records are the truth, not task results
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Per-connector API tokens: `Authorization: Bearer fh_…` (connectors/authentication.py).
        # First, so a request without credentials gets 401 with its challenge, not 403.
        "connectors.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Per API token (session users are not throttled by it); 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["connectors.throttling.ApiTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_token": env.str("FINHUB_API_TOKEN_RATE", default="600/min"),
        "webhook": env.str("FINHUB_WEBHOOK_RATE", default="600/min"),  # per connector
        # Unverified webhook requests (unknown connector, bad signature) per client address.
        "webhook_failure": env.str("FINHUB_WEBHOOK_FAILURE_RATE", default="30/min"),
    },
    # Every endpoint: an authenticated user holding the model permission for the method
    # (view included). Views without a model queryset declare their own permission.
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "finhub.core.permissions.ModelPermissionsIncludingView",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Every API error with one message: {"detail": ..., "code": ...} (finhub/core/api.py).
    "EXCEPTION_HANDLER": "finhub.core.api.coded_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FinHub API",
    "DESCRIPTION": "Push financial data into FinHub and read what it computes.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status"; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "ChecklistItemStatusEnum": "roadmap.models.ChecklistItem.Status",
        "RiskStatusEnum": "roadmap.models.Risk.Status",
    },
}

# --- Admin theme ----------------------------------------------------------------------
# The app's brand colour and favicon (finhub/core/theme.py): one look for the app and admin.
UNFOLD = {
    "SITE_TITLE": "FinHub admin",
    "SITE_HEADER": "FinHub",
    "SITE_URL": "/",
    "SITE_FAVICONS": [
        {
            "rel": "icon",
            "type": "image/svg+xml",
            "href": lambda request: static(theme.FAVICON),
        }
    ],
    "COLORS": {"primary": theme.PRIMARY_PALETTE},
    # Layout fixes: forms and read-only values fit the window (static/css/admin.css).
    "STYLES": [lambda request: static("css/admin.css")],
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": True,
}
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_USE_TRANSACTIONS = True

# --- Logging: one line per event on stdout, each with the request's correlation id ----
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": False,
    # Carries the request id into the Celery tasks a request enqueues.
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True, log_parent=True)],
}
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if IS_PRODUCTION else "text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {LOG_FORMAT!r}")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s request_id=%(correlation_id)s "
            "%(name)s: %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(correlation_id)s %(message)s",
            "rename_fields": {"correlation_id": "request_id", "levelname": "level"},
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
        # django-guid announces every id it generates or clears at INFO: noise.
        "django_guid": {"level": "WARNING"},
        # httpx logs every request a sync makes at INFO (hundreds per sync of the sandbox):
        # request detail, shown only with LOG_LEVEL=DEBUG. Failures and retries are logged
        # by connectors.sync.http at INFO and above.
        "httpx": {"level": "DEBUG" if LOG_LEVEL.upper() == "DEBUG" else "WARNING"},
        # WeasyPrint logs each step of every report PDF it lays out at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- FinHub ---------------------------------------------------------------------------
# /readyz reports the scheduler stale when the last beat heartbeat is older than this.
FINHUB_HEARTBEAT_STALE_SECONDS = env.int("FINHUB_HEARTBEAT_STALE_SECONDS", default=120)
# Fernet key(s) encrypting secrets kept at rest (webhook secrets; connectors/crypto.py).
# Required in production; development and tests derive one from SECRET_KEY when unset.
FINHUB_ENCRYPTION_KEY = (
    env.str("FINHUB_ENCRYPTION_KEY")
    if IS_PRODUCTION
    else env.str("FINHUB_ENCRYPTION_KEY", default="")
)
# Push API: records per ingest request and the raw body cap (checked before parsing).
FINHUB_INGEST_MAX_BODY_BYTES = env.int("FINHUB_INGEST_MAX_BODY_BYTES", default=20 * 1024 * 1024)
# An Idempotency-Key claim older than this is a request that died (e.g. a database crash):
# a retry takes it over. Must exceed the longest request (gunicorn --timeout, 30 s default).
FINHUB_IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS = env.int(
    "FINHUB_IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS", default=60
)
if FINHUB_IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS < 1:
    raise ImproperlyConfigured("FINHUB_IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS must be at least 1.")
# Every amount is converted to this ISO 4217 currency for reporting (docs/metrics.md,
# "Conventions").
FINHUB_REPORTING_CURRENCY = env.str("FINHUB_REPORTING_CURRENCY", default="USD").upper()
if not (len(FINHUB_REPORTING_CURRENCY) == 3 and FINHUB_REPORTING_CURRENCY.isalpha()):
    raise ImproperlyConfigured(
        f"FINHUB_REPORTING_CURRENCY must be an ISO 4217 code such as USD, "
        f"not {FINHUB_REPORTING_CURRENCY!r}"
    )
# Metrics engine (docs/metrics.md, "CAC, LTV and payback" and "Sales"): gross margin for
# LTV/payback; the departments (names or codes) whose GL lines are the sales cost of sales ROI.
FINHUB_GROSS_MARGIN = Decimal(env.str("FINHUB_GROSS_MARGIN", default="0.80"))
FINHUB_SALES_DEPARTMENTS = env.list("FINHUB_SALES_DEPARTMENTS", default=["Sales"])


def _departments(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of department names or codes; at least one."""
    value = [item.strip() for item in env.list(name, default=default) if item.strip()]
    if not value:
        raise ImproperlyConfigured(f"{name} must name at least one department (name or code)")
    return value


def _positive_months(name: str, default: int) -> int:
    raw = env.str(name, default=str(default)).strip()
    if not (raw.isdigit() and int(raw) > 0):
        raise ImproperlyConfigured(f"{name} must be a positive whole number of months, not {raw!r}")
    return int(raw)


# Retention and product ROI (docs/metrics.md, "Retention, cohorts and customer-success ROI"
# and "Product development ROI"): the departments (names or codes) whose GL lines are the
# customer-success cost and the product development cost; how many months of retained MRR a
# month's churn avoided is worth; the months before a period its baseline churn is read from.
FINHUB_CS_DEPARTMENTS = _departments("FINHUB_CS_DEPARTMENTS", ["Customer Success"])
FINHUB_PRODUCT_DEPARTMENTS = _departments("FINHUB_PRODUCT_DEPARTMENTS", ["Product", "Engineering"])
FINHUB_VALUE_HORIZON_MONTHS = _positive_months("FINHUB_VALUE_HORIZON_MONTHS", 12)
FINHUB_BASELINE_MONTHS = _positive_months("FINHUB_BASELINE_MONTHS", 12)
# The attribution model dashboards open with (one of metrics.computations.attribution.MODELS).
FINHUB_DEFAULT_ATTRIBUTION_MODEL = env.str("FINHUB_DEFAULT_ATTRIBUTION_MODEL", default="linear")
# A finished sync queues the metrics recompute this many seconds later; syncs finishing
# within that window (make run's first six) share one recompute (metrics.services). Short:
# the recompute is incremental (only the months changed), and a pushed figure must reach
# the dashboards within seconds (docs/benchmarks.md, "Fresh figures after a push").
FINHUB_RECOMPUTE_DEBOUNCE_SECONDS = env.int("FINHUB_RECOMPUTE_DEBOUNCE_SECONDS", default=5)
# ... but a request never waits longer than this for its recompute (syncs and pushes arriving
# closer together than the debounce window would otherwise postpone it forever).
FINHUB_RECOMPUTE_MAX_WAIT_SECONDS = env.int("FINHUB_RECOMPUTE_MAX_WAIT_SECONDS", default=300)
# Forecasts (#13): processes that fit and backtest the series in parallel. A Celery prefork
# child cannot start processes, so there the forecast runs in the child itself (its pool
# already spreads work over the cores); the command and the benchmark use this many.
FINHUB_FORECAST_PROCESSES = env.int("FINHUB_FORECAST_PROCESSES", default=os.cpu_count() or 1)
# Scenarios (#13): the account-code prefixes whose lines are headcount cost (payroll), which a
# scenario's "headcount cost by department" driver scales. The default is the sandbox chart.
FINHUB_HEADCOUNT_ACCOUNT_PREFIXES = env.list(
    "FINHUB_HEADCOUNT_ACCOUNT_PREFIXES", default=["5100", "6100", "6200", "6300", "6400"]
)
# Mail (alert notifications): EMAIL_URL like smtp+tls://user:password@host:587 (a secret:
# from the environment only); the default prints mails in the worker's log.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="FinHub <finhub@localhost>")
# Alerts (#14): where links in notifications point (a mail is read outside the site).
FINHUB_BASE_URL = env.str(
    "FINHUB_BASE_URL", default=f"http://127.0.0.1:{os.environ.get('FINHUB_PORT', '8000')}"
)
# Connector syncs (#5): pause a connector after this many failed runs in a row; a running
# run whose heartbeat is older than FINHUB_SYNC_STALE_SECONDS is abandoned by the reaper (it
# is also the length of the per-connector lock lease); HTTP calls to a source are tried at
# most FINHUB_SYNC_MAX_ATTEMPTS times with exponential backoff (base, cap) and jitter, each
# with a FINHUB_SYNC_TIMEOUT_SECONDS timeout.
FINHUB_CONNECTOR_MAX_FAILURES = env.int("FINHUB_CONNECTOR_MAX_FAILURES", default=3)
FINHUB_SYNC_STALE_SECONDS = env.int("FINHUB_SYNC_STALE_SECONDS", default=120)
FINHUB_SYNC_MAX_ATTEMPTS = env.int("FINHUB_SYNC_MAX_ATTEMPTS", default=5)
FINHUB_SYNC_BACKOFF_SECONDS = env.float("FINHUB_SYNC_BACKOFF_SECONDS", default=0.5)
FINHUB_SYNC_BACKOFF_MAX_SECONDS = env.float("FINHUB_SYNC_BACKOFF_MAX_SECONDS", default=30)
FINHUB_SYNC_TIMEOUT_SECONDS = env.float("FINHUB_SYNC_TIMEOUT_SECONDS", default=30)
# A page-numbered source's mark stays this far behind the start of the sync that set it, so
# records changed during that sync are read by the next one despite clock skew (engine.py).
FINHUB_SYNC_OVERLAP_SECONDS = env.int("FINHUB_SYNC_OVERLAP_SECONDS", default=300)
# The sandbox source (python -m connectors.sandbox, the Procfile's "sandbox" process) that the
# demo connectors created by load_demo read from.
FINHUB_SANDBOX_URL = env.str(
    "FINHUB_SANDBOX_URL",
    default=f"http://127.0.0.1:{env.int('FINHUB_SANDBOX_PORT', default=8765)}",
)

# Request timing (operations.middleware, docs/operations.md): each web process keeps
# per-endpoint latency histograms in memory and adds them to the database at most every
# FINHUB_TIMING_FLUSH_SECONDS (0: after every request), from the request that finds the last
# flush older than that, and at exit. Tests store only when they flush explicitly: a flush
# inside an unrelated test would add queries to it, and one at exit would write into the
# development database once the test database is gone. Hourly rows older than
# FINHUB_TIMING_RETENTION_DAYS are deleted by the hourly operations task.
FINHUB_TIMING_FLUSH_SECONDS = env.int(
    "FINHUB_TIMING_FLUSH_SECONDS", default=10**9 if RUNNING_TESTS else 60
)
FINHUB_TIMING_FLUSH_AT_EXIT = not RUNNING_TESTS
FINHUB_TIMING_RETENTION_DAYS = env.int("FINHUB_TIMING_RETENTION_DAYS", default=30)
if FINHUB_TIMING_FLUSH_SECONDS < 0 or FINHUB_TIMING_RETENTION_DAYS < 1:
    raise ImproperlyConfigured(
        "FINHUB_TIMING_FLUSH_SECONDS must be >= 0 and FINHUB_TIMING_RETENTION_DAYS >= 1"
    )

# --- Reports ----------------------------------------------------------------------------
# Every generated report file (downloads, packs, scheduled and close deliveries) is archived
# through the "reports" storage: a local folder by default; in production any Django storage
# backend, e.g. an S3-compatible bucket with django-storages (docs/reports.md, "Storage"):
# FINHUB_REPORTS_STORAGE_BACKEND=storages.backends.s3.S3Storage and
# FINHUB_REPORTS_STORAGE_OPTIONS='{"bucket_name": "finhub-reports", "endpoint_url": "..."}'
# (credentials from the backend's own environment variables, never from these options).
STORAGES = {
    # Production's setting above, else Django's defaults (what an unset STORAGES means).
    **(
        STORAGES  # set above when IS_PRODUCTION
        if IS_PRODUCTION
        else {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ),
    "reports": {
        "BACKEND": env.str(
            "FINHUB_REPORTS_STORAGE_BACKEND",
            default="django.core.files.storage.FileSystemStorage",
        ),
        "OPTIONS": env.json(
            "FINHUB_REPORTS_STORAGE_OPTIONS",
            default={"location": str(VAR_DIR / "reports"), "directory_permissions_mode": 0o750},
        ),
    },
}
# Archived report files (and their delivery log) are deleted this many days after they were
# generated (reports.tasks.archive_prune, daily).
FINHUB_REPORT_RETENTION_DAYS = env.int("FINHUB_REPORT_RETENTION_DAYS", default=400)
if FINHUB_REPORT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("FINHUB_REPORT_RETENTION_DAYS must be at least 1 day")
# A report pack schedule with the "link" method mails signed download links valid this many
# hours unless the schedule says otherwise.
FINHUB_REPORT_LINK_HOURS = env.int("FINHUB_REPORT_LINK_HOURS", default=72)
if FINHUB_REPORT_LINK_HOURS < 1:
    raise ImproperlyConfigured("FINHUB_REPORT_LINK_HOURS must be at least 1 hour")
