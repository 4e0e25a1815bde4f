"""Settings shared by every environment. Everything that differs comes from environment variables.

`local.py` (developer machines, `make demo`), `test.py` (pytest) and `production.py` only override.
"""
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
# `.env` (git-ignored, written by scripts/setup.sh with generated keys) fills what the environment
# does not set; containers set DJANGO_READ_DOT_ENV=0 and pass everything in the environment.
if env.bool("DJANGO_READ_DOT_ENV", default=True):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
USE_X_FORWARDED_FOR = env.bool("USE_X_FORWARDED_FOR", default=False)  # only behind a proxy that overwrites the header

LOCAL_APPS = [
    "gis_core",
    "grids",
    "crm",
    "fieldwork",
    "campaigns",
    "dashboards",
    "tiles",
]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    *LOCAL_APPS,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gis_core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "gis_core.middleware.RequestContextMiddleware",
    "gis_core.middleware.SessionPolicyMiddleware",
    "gis_core.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gis_core.context_processors.navigation",
            ],
        },
    }
]

# --- database and cache ------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default="postgis://gridmarket:gridmarket@127.0.0.1:5432/gridmarket")}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": env("CACHE_URL", default=REDIS_URL),
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="gm"),
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
    }
}

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 660
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "gis_core.purge_expired_tokens": {"task": "gis_core.purge_expired_tokens", "schedule": timedelta(hours=1)},
    # Grid rating (GR-7) at 02:30 local time (Celery follows TIME_ZONE).
    "grids.rate_all_nightly": {"task": "grids.rate_all_nightly", "schedule": crontab(hour=2, minute=30)},
    # Rule tags, then approved segments (CR-4, CR-5), incrementally, at 03:00 after the grid placement of the day.
    "crm.segments_refresh_nightly": {"task": "crm.segments_refresh_nightly", "schedule": crontab(hour=3, minute=0)},
    # Care reminders (CR-7) for the next 7 days, before the working day starts.
    "crm.reminders_daily": {"task": "crm.reminders_daily", "schedule": crontab(hour=6, minute=0)},
}

# --- auth and security (SEC-1 .. SEC-4) --------------------------------------------------------
AUTH_USER_MODEL = "gis_core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # 1,000,000 iterations of SHA-256 in Django 5.2
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "gis_core.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "gis_core.passwords.PasswordHistoryValidator", "OPTIONS": {"history": 5}},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SECURITY_POLICY = {
    "PASSWORD_MAX_AGE_DAYS": env.int("PASSWORD_MAX_AGE_DAYS", default=90),
    "PASSWORD_HISTORY": 5,
    "LOCKOUT_THRESHOLD": env.int("LOCKOUT_THRESHOLD", default=5),
    "LOCKOUT_MINUTES": env.int("LOCKOUT_MINUTES", default=30),
    "SESSION_IDLE_MINUTES": env.int("SESSION_IDLE_MINUTES", default=20),
    "SESSION_ABSOLUTE_HOURS": env.int("SESSION_ABSOLUTE_HOURS", default=8),
    "REAUTH_MINUTES": env.int("REAUTH_MINUTES", default=5),
    "API_TOKEN_HOURS": env.int("API_TOKEN_HOURS", default=12),
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = SECURITY_POLICY["SESSION_ABSOLUTE_HOURS"] * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # the small JS modules read it for fetch() writes

# Field encryption (SEC-5): SM4 key and the keyed-hash key, 32 hex characters each, from the environment.
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY")
FIELD_HASH_KEY = env("FIELD_HASH_KEY")

# --- REST API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "gis_core.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["gis_core.permissions.HasDeclaredPermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "gis_core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "gis_core.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "网格化营销平台 API",
    "DESCRIPTION": "Grid-marketing GIS platform. Geometry is WGS-84 (EPSG:4326) unless a `crs` parameter says otherwise.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # `kind` and `level` name different choice sets in different apps: name them explicitly.
    "ENUM_NAME_OVERRIDES": {"GridKindEnum": "grids.choices.GridKind", "GridLevelEnum": "grids.choices.GridLevel"},
}

# --- i18n: Chinese first, English through the switch ------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static files ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# GDAL 3.6 (Debian 12) cannot block file/network access from GDAL itself; Django warns (gis.W001).
# We never hand GDAL user-controlled paths or URLs that way, so the warning is silenced.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

DATA_DIR = BASE_DIR / "data"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "filters": {"request_id": {"()": "gis_core.logging.RequestIdFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="plain"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Coordinate reference: the map's default centre (Changsha, WGS-84 lng/lat).
MAP_DEFAULT_CENTER = (112.9388, 28.2282)
MAP_DEFAULT_ZOOM = 10

# Geocoding (GC-2): providers tried in order (offline, amap, baidu); AMap/Baidu stay disabled without a key.
GEOCODER_CHAIN = env.list("GEOCODER_CHAIN", default=["offline"])
GEOCODER_AMAP_KEY = env("GEOCODER_AMAP_KEY", default="")
GEOCODER_BAIDU_KEY = env("GEOCODER_BAIDU_KEY", default="")
GEOCODER_RATE_LIMIT_PER_SECOND = env.int("GEOCODER_RATE_LIMIT_PER_SECOND", default=3)
