"""One env-driven settings module.

With no environment the project runs embedded (SQLite in var/, in-memory channel layer, eager
Celery) so that a newcomer needs nothing but Python. DATABASE_URL and REDIS_URL switch the same
code to PostgreSQL and Redis. Every variable is listed in the README.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from contactcenter.env import (
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
    redis_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DJANGO_DEBUG", False)
_INSECURE_KEY = "insecure-development-key-change-me-in-production-0123456789abcdef"
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or _INSECURE_KEY
if not DEBUG and SECRET_KEY == _INSECURE_KEY and env_bool("DJANGO_REQUIRE_SECRET_KEY", False):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production.")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "django_tables2",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "channels",
    "contactcenter.tenancy",
    "crm",
    "telephony",
    "reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "contactcenter.tenancy.middleware.TimezoneMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "contactcenter.urls"
WSGI_APPLICATION = "contactcenter.wsgi.application"
ASGI_APPLICATION = "contactcenter.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "contactcenter.tenancy.context_processors.tenancy",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    _db = database_from_url("DATABASE_URL", DATABASE_URL)
else:
    VAR_DIR.mkdir(exist_ok=True)
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "contactcenter.sqlite3")}

if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db.setdefault("OPTIONS", {})
    # WAL lets the web process read while a background import writes; IMMEDIATE avoids the
    # "database is locked" upgrade deadlock between two writers.
    _db["OPTIONS"].update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    # Under ASGI, persistent connections leak across threads: use psycopg's pool instead.
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {})
    # The hot paths' statements (contactcenter/lib/rawsql.py) bind their parameters on the
    # server, and one run this many times on a connection is prepared there: parsed and planned
    # once. The ORM's statements, bound on the client, are never prepared. Off (no prepared
    # statement) behind a pooler that hands each transaction a different connection.
    _db["OPTIONS"]["prepare_threshold"] = 5 if env_bool("DATABASE_PREPARED", True) else None
    if env_bool("DATABASE_POOL", True):
        _db["OPTIONS"]["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 2),
            "max_size": env_int("DATABASE_POOL_MAX", 10, minimum=1),
            "timeout": 10,
        }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery broker ----------------------------------------------
REDIS_URL = redis_url("REDIS_URL", env_str("REDIS_URL")) if env_str("REDIS_URL") else ""

if REDIS_URL:
    # Redis pub/sub: a group message is one PUBLISH, which Redis hands to the processes whose
    # websockets joined the group. The default layer (channels_redis.core) keeps a sorted set
    # per group and per channel, several round trips per message and per receive: at 200 PBX
    # events a second with 500 agents it took a quarter of the CPU (bench/README.md). Pushes
    # here are "latest state" notices, sent at most once: one a closed websocket misses is
    # fetched again when it reconnects (the workspace and the wallboard reload their state).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # redis-py 8 reads with a 5 s timeout by default (redis/redis-py#4091):
                        # longer, so that a slow Redis is waited for rather than dropped. Its
                        # default pool of 100 connections is too few when hundreds of agents'
                        # websockets close at once (a proxy reload) and all leave their groups.
                        "socket_timeout": 15,
                        "max_connections": 1000,
                    }
                ],
                "prefix": "cc:channels:",
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cc",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# PBX webhooks: apply each request before answering (default), or answer native-format requests
# once stored and let one `manage.py apply_pbx_events` process apply them (telephony/applier.py):
# several times the ingest rate, for deployments that run that process.
PBX_APPLY_IN_WORKER = env_bool("PBX_APPLY_IN_WORKER", False)

# /health/ calls the applier "behind" when a stored PBX request has waited longer than this.
PBX_APPLIER_MAX_LAG_SECONDS = env_int("PBX_APPLIER_MAX_LAG_SECONDS", 30)

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "mark-sla-breaches": {"task": "crm.tasks.mark_sla_breaches", "schedule": 60.0},
    # Wrap-ups end at their exact due time whenever this runs; running often keeps agents from
    # looking busy on the live views after their wrap-up ran out.
    "end-expired-wrap-ups": {"task": "telephony.tasks.end_expired_wrap_ups", "schedule": 5.0},
}

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "crm:my_work"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian")), ("it", _("Italian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "var" / "static")
# WhiteNoise warns on every request while the directory is missing (before collectstatic).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "reporting.staticfiles.PlotlyFinder",  # plotly.js from the plotly package, no CDN
]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "var" / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Tests and runserver serve static files straight from the finders, without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG or env_bool("WHITENOISE_USE_FINDERS", False)
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security (production passes `manage.py check --deploy`) ---------------------------------
SESSION_COOKIE_SECURE = not DEBUG and env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = env_list("DJANGO_SILENCED_SYSTEM_CHECKS", [])

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"auth": env_str("API_AUTH_THROTTLE", "10/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Contact centre back office API",
    "DESCRIPTION": "Client companies, customers, tickets and comments, scoped to your companies.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"

# --- Customer import --------------------------------------------------------------------------
# Files with more rows than this run as a background task whose progress the page shows.
IMPORT_SYNC_MAX_ROWS = env_int("IMPORT_SYNC_MAX_ROWS", 500)
IMPORT_MAX_UPLOAD_MB = env_int("IMPORT_MAX_UPLOAD_MB", 50, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # A task's success line every few seconds (the wrap-up job) buries what matters; failures
        # are still logged, as errors.
        "celery.app.trace": {"level": "WARNING"},
        # The development server prints each request itself: once is enough.
        "django.channels.server": {"propagate": False},
    },
}
