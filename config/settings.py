"""Django settings for the Pluggable Rule Engine, read from the environment.

A local ``.env`` file is loaded first (python-dotenv); real environment
variables win over it. ``DATABASE_URL`` selects the database (dj-database-url)
and defaults to a SQLite file in the project folder.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

load_dotenv(BASE_DIR / ".env", override=False)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """Return the boolean value of environment variable *name*."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    """Return the integer value of environment variable *name*."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    """Return environment variable *name* split on commas, blanks dropped."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


_RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")


def env_rate(name: str, default: str) -> str | None:
    """Return the rate in environment variable *name* (``1200/min``); ``off`` is ``None``."""
    raw = os.environ.get(name, default).strip()
    if raw.lower() == "off":
        return None
    if not _RATE.fullmatch(raw):
        raise ImproperlyConfigured(
            f"{name} must be a number of requests per s, min, hour or day "
            f"(e.g. 1200/min), or off; not {raw!r}"
        )
    return raw


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (in the environment or in .env)"
        )
    # Debug only: one fixed key so sessions survive across local workers.
    SECRET_KEY = "django-insecure-debug-only-key-never-used-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
render_hostname = os.environ.get("RENDER_EXTERNAL_HOSTNAME")
if render_hostname:
    ALLOWED_HOSTS.append(render_hostname)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_api_key",
    "django_filters",
    "drf_yasg",
    "simple_history",
    "axes",
    "csp",
    "api.apps.ApiConfig",
    "orders.apps.OrdersConfig",
    "decisions.apps.DecisionsConfig",
    "rules.apps.RulesConfig",
]

MIDDLEWARE = [
    # Answers an allowed scrape of /metrics before anything else runs (config/metrics.py).
    "config.metrics.MetricsEndpointMiddleware",
    "config.request_logging.RequestLoggingMiddleware",
    # With a replica (DATABASE_REPLICA_URL), analysis views read from it (config/replica.py).
    "config.replica.AnalysisReadsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A Content-Security-Policy on HTML pages (the admin, the docs); none on JSON.
    "config.pages.PageSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who changed what: the change history records the request's user.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out login with a 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Database: any dj-database-url URL; SQLite in the project folder by default.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers share one file: take the write lock when a
    # transaction starts (so "read then write" never deadlocks), wait for it
    # instead of failing, and let readers run beside the writer (WAL).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT", 20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# A read replica of that PostgreSQL database, optional: analysis reads its orders and
# decisions there, everything else stays on the primary (config/replica.py).
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL,
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=DATABASES["default"]["CONN_HEALTH_CHECKS"],
    )
    if {db["ENGINE"] for db in DATABASES.values()} != {"django.db.backends.postgresql"}:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs PostgreSQL: a postgres:// URL of a streaming "
            "replica of the PostgreSQL database of DATABASE_URL"
        )
    # The tests read the test database through it: no test database of its own.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["config.replica.ReplicaRouter"]
for database in DATABASES.values():
    if database["ENGINE"] == "django.db.backends.postgresql":
        database.setdefault("OPTIONS", {})
        database["OPTIONS"].setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 2))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's cache holds the throttles' counts ("default") and the fact providers'
# answers ("providers"), shared by every worker and replica: the database's by
# default (their tables are made by `migrate`), Redis with REDIS_URL. A store that
# fails lets requests through uncounted (api/throttles.py), and providers called
# (rules/fetching.py).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # A Redis that does not answer holds a request up this long, once per
    # breaker period of each worker (api.throttles.StoreBreaker).
    redis_timeout = env_int("REDIS_TIMEOUT_MS", 50) / 1000
    # Django's RedisCache, reusing its redis.Redis client in each process.
    CACHES = {
        "default": {
            "BACKEND": "api.redis_cache.ReusedClientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": redis_timeout, "socket_timeout": redis_timeout},
        },
        "providers": {
            "BACKEND": "api.redis_cache.ReusedClientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": redis_timeout, "socket_timeout": redis_timeout},
            "KEY_PREFIX": "providers",
        },
    }
else:
    CACHES = {
        "default": {
            # Django's DatabaseCache, whose increments are one read and one write.
            "BACKEND": "api.throttles.CountingDatabaseCache",
            "LOCATION": "django_cache",
            # Every write counts the rows: few rows, cheap writes. A count
            # lives until its window ends; past this many rows, a window's
            # first count deletes the expired ones (never a live one).
            "OPTIONS": {"MAX_ENTRIES": 1000},
        },
        # Providers' answers (rules/fetching.py), in a table of their own: a full
        # table drops a third of its answers, which the providers then give again.
        "providers": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "provider_cache",
            "KEY_PREFIX": "providers",
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        },
    }

# The pages' Content-Security-Policy (django-csp): scripts, styles and images from
# this site only, nothing embedded, framed or posted elsewhere. The documentation
# views add what Swagger UI and ReDoc need (config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out address or user name before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Admin login (api/lockouts.py): this many failures for one user name from one
# address lock that name out at that address; this many more from one address,
# whatever the names (a spray), lock the address out. For ADMIN_LOCKOUT_MINUTES;
# a success resets the count. The handler reads the parameters in this order.
AXES_HANDLER = "api.lockouts.UserAtAddressLockoutHandler"
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
ADMIN_ADDRESS_FAILURE_LIMIT = env_int("ADMIN_ADDRESS_FAILURE_LIMIT", 20)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "api.auth.client_address"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# The currency of an order that names none (an ISO 4217 code; orders.facts).
DEFAULT_CURRENCY = os.environ.get("DEFAULT_CURRENCY", "EUR")
# The most lines one order may have; more is 400 too_many_lines.
MAX_ORDER_LINES = env_int("MAX_ORDER_LINES", 500)

# Fact providers (rules.engine.providers, called by rules.fetching). A check
# waits this long at most for all the providers its rules need; a batch, its own.
CHECK_PROVIDERS_DEADLINE_MS = env_int("CHECK_PROVIDERS_DEADLINE_MS", 800)
BATCH_PROVIDERS_DEADLINE_MS = env_int("BATCH_PROVIDERS_DEADLINE_MS", 5000)
# Calls in flight at once, per worker, when a batch asks a provider for many orders.
PROVIDER_MAX_CONCURRENCY = env_int("PROVIDER_MAX_CONCURRENCY", 8)
# A provider's circuit breaker opens after this many failures in a row, for this long.
PROVIDER_BREAKER_FAILURES = env_int("PROVIDER_BREAKER_FAILURES", 5)
PROVIDER_BREAKER_OPEN_SECONDS = env_int("PROVIDER_BREAKER_OPEN_SECONDS", 30)
# At least 1 each: with 0 calls in flight none could go; a breaker opens on a failure.
if PROVIDER_MAX_CONCURRENCY < 1:
    raise ImproperlyConfigured("PROVIDER_MAX_CONCURRENCY must be at least 1")
if PROVIDER_BREAKER_FAILURES < 1:
    raise ImproperlyConfigured("PROVIDER_BREAKER_FAILURES must be at least 1")
# The risk-scoring service (rules.providers): unset, rules that need risk.score
# are listed as not configured and a check naming them is 400 provider_not_configured.
RISK_SERVICE_URL = os.environ.get("RISK_SERVICE_URL", "")
RISK_SERVICE_TOKEN = os.environ.get("RISK_SERVICE_TOKEN", "")

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Request bodies: Django's own cap; DRF reads JSON through it, and the API answers 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 1024 * 1024)

# Budgets (rules/budgets.py): what one request may cost. A cell is one rule on one order.
BATCH_MAX_CELLS = env_int("BATCH_MAX_CELLS", 100_000)
# Callers with neither a key nor a session (ALLOW_ANONYMOUS_CHECKS) get far smaller
# batches: a checkout checks one cart at a time, and a back office that checks
# thousands of orders at once is a client system with a key.
BATCH_ANONYMOUS_MAX_CELLS = env_int("BATCH_ANONYMOUS_MAX_CELLS", 1_000)
# Bytes, measured before anything is answered or written: a batch's answer, and the
# JSON that a request's decisions put on the record (DECISION_LOG_MAX_BYTES, a single
# check's too). The largest batch a key may ask for, 1,000 orders x 100 built-in rules
# with 64-character keys, answers 34 MB and records 49 MB: both fit, and what only
# outsized params, messages or facts could add does not.
BATCH_MAX_BYTES = env_int("BATCH_MAX_BYTES", 64 * 1024 * 1024)
DECISION_LOG_MAX_BYTES = env_int("DECISION_LOG_MAX_BYTES", 64 * 1024 * 1024)
REPORT_MAX_CELLS = env_int("REPORT_MAX_CELLS", 50_000_000)
# A report's row is an id and a boolean per rule: a million orders x 50 rules take
# 316 MB. Within REPORT_MAX_CELLS only a report of three rules or fewer over more
# than 15 million orders is longer: an export for the database's own tools.
REPORT_MAX_BYTES = env_int("REPORT_MAX_BYTES", 512 * 1024 * 1024)
REPORT_MAX_SECONDS = env_int("REPORT_MAX_SECONDS", 300)
# PostgreSQL statement timeouts: queries over stored orders, and every other
# statement of the served processes (set on their connections in config/wsgi.py).
ANALYZE_STATEMENT_TIMEOUT_MS = env_int("ANALYZE_STATEMENT_TIMEOUT_MS", 30_000)
CHECK_STATEMENT_TIMEOUT_MS = env_int("CHECK_STATEMENT_TIMEOUT_MS", 5_000)

# The decision log (decisions/): which checks are put on the record, and for how long.
DECISION_LOG_MODES = ("all", "failed", "off")
DECISION_LOG = os.environ.get("DECISION_LOG", "all").strip().lower()
if DECISION_LOG not in DECISION_LOG_MODES:
    raise ImproperlyConfigured(
        f"DECISION_LOG must be one of {', '.join(DECISION_LOG_MODES)}, not {DECISION_LOG!r}"
    )
DECISION_LOG_RETENTION_DAYS = env_int("DECISION_LOG_RETENTION_DAYS", 90)
if DECISION_LOG_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("DECISION_LOG_RETENTION_DAYS must be at least 1")
# On PostgreSQL the log is partitioned by day (decisions/partitions.py): `migrate` and
# `decision_partitions` make today's partition and this many days' after it.
DECISION_PARTITIONS_AHEAD = env_int("DECISION_PARTITIONS_AHEAD", 3)
if DECISION_PARTITIONS_AHEAD < 1:
    raise ImproperlyConfigured("DECISION_PARTITIONS_AHEAD must be at least 1")

# Readiness (config/health.py) answers 503 disk_low when the SQLite file's volume has
# less free space than this: room for a few requests at DECISION_LOG_MAX_BYTES, with
# their journal, while the load balancer takes the replica out. (PostgreSQL's volume
# is the database server's: not checked.)
DISK_FREE_MIN_BYTES = env_int("DISK_FREE_MIN_BYTES", 256 * 1024 * 1024)

# Metrics (api/metrics.py, config/metrics.py): GET /metrics in Prometheus's text format,
# for callers from these addresses or networks, or sending `Authorization: Bearer <token>`.
METRICS_ENABLED = env_bool("METRICS_ENABLED", True)
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "127.0.0.0/8,::1")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# gunicorn.conf.py sets it for its workers, which write their counts there. A command
# given the same directory counts into it too, even before gunicorn has made it.
METRICS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if METRICS_MULTIPROC_DIR:
    Path(METRICS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

# Security. Each switch has a safe production default and an environment
# variable; `make run` turns HTTPS-only behaviour off for plain local HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Only behind a proxy that sets X-Forwarded-Proto itself: otherwise any client
# could claim HTTPS with the header.
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SECURE_SSL_REDIRECT)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# Preloading is hard to undo (browsers' built-in lists): opt in. Without it,
# `check --deploy`'s reminder that the site cannot be preloaded is silenced.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Callers (api/auth.py, api/authentication.py) and their limits (api/throttles.py).
ALLOW_ANONYMOUS_CHECKS = env_bool("ALLOW_ANONYMOUS_CHECKS", True)
THROTTLE_RATES = {
    "check": env_rate("THROTTLE_CHECK", "12000/min"),
    "analyze": env_rate("THROTTLE_ANALYZE", "600/min"),
    "anonymous": env_rate("THROTTLE_ANONYMOUS", "6000/min"),
}

# The change history is a read-only record: a rule set is restored from its
# versions, never by reverting its history.
SIMPLE_HISTORY_REVERT_DISABLED = True

REST_FRAMEWORK = {
    # API keys, then the admin's session (CSRF-checked). No HTTP Basic: a
    # bogus Authorization header must not cost a password hash.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.auth.ScopePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.CallerRateThrottle"],
    # Trusted proxies in front: the client's address is the one the outermost added.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "DEFAULT_PARSER_CLASSES": ["api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}

SWAGGER_SETTINGS = {
    "USE_SESSION_AUTH": False,
    # Client systems send an API key to the rules API; order writes take a
    # user's token. Each operation's view says which it takes, and whom it
    # refuses: the inspector documents its security and caller errors from it.
    "DEFAULT_AUTO_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "SECURITY_DEFINITIONS": {
        "Api-Key": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Api-Key <key>`; make one in the admin or with "
                "`manage.py create_api_key NAME --scopes check,analyze`."
            ),
        },
        "Token": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; issue one with `manage.py drf_create_token <user>`.",
        },
    },
    "SECURITY_REQUIREMENTS": [],
    "DEFAULT_INFO": "config.urls.API_INFO",
    # A rule item is a name or an object, and a JSON field any value: each is
    # documented by an inspector of its own.
    "DEFAULT_FIELD_INSPECTORS": [
        "rules.schema.RuleItemFieldInspector",
        "drf_yasg.inspectors.CamelCaseJSONFilter",
        "drf_yasg.inspectors.RecursiveFieldInspector",
        "drf_yasg.inspectors.ReferencingSerializerInspector",
        "drf_yasg.inspectors.ChoiceFieldInspector",
        "drf_yasg.inspectors.FileFieldInspector",
        "drf_yasg.inspectors.DictFieldInspector",
        "api.inspectors.AnyJSONFieldInspector",
        "drf_yasg.inspectors.HiddenFieldInspector",
        "drf_yasg.inspectors.RelatedFieldInspector",
        "drf_yasg.inspectors.SerializerMethodFieldInspector",
        "drf_yasg.inspectors.SimpleFieldInspector",
        "drf_yasg.inspectors.StringDefaultFieldInspector",
    ],
}
SWAGGER_USE_COMPAT_RENDERERS = False

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = logging_config(LOG_LEVEL)
