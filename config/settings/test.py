"""pytest: real PostGIS and real Redis, isolated by database name and Redis key prefix."""
import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "00112233445566778899aabbccddeeff")
os.environ.setdefault("FIELD_HASH_KEY", "ffeeddccbbaa99887766554433221100")

from .base import *  # noqa: E402,F401,F403
from .base import CACHES, STATIC_ROOT, env  # noqa: E402

_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
CACHES["default"]["KEY_PREFIX"] = f"{env('CACHE_KEY_PREFIX', default='gmtest')}-{_worker}"
# A fast hasher keeps the suite quick; the production hasher is tested explicitly in gis_core tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "var" / f"test-media-{_worker}"

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
