"""Settings of the example issuer: Django REST framework simplejwt signing
HS256 tokens with a key shared with revgate (jwt.hmac_secret_file).

Everything that differs between machines comes from the environment:

  SIMPLEJWT_SIGNING_KEY_FILE  the HS256 key, the same file revgate reads
                              (default: ./jwt-signing-key next to manage.py)
  SIMPLEJWT_DB                the SQLite database (default: ./db.sqlite3)
  DJANGO_SECRET_KEY           Django's own secret (default: random per start;
                              the example keeps no sessions)
"""
import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _signing_key():
    path = os.environ.get("SIMPLEJWT_SIGNING_KEY_FILE", str(BASE_DIR / "jwt-signing-key"))
    with open(path, encoding="utf-8") as f:
        # revgate drops trailing whitespace from a secret file too, so both
        # sides use the same bytes.
        key = f.read().rstrip()
    if len(key) < 32:
        raise RuntimeError(f"{path}: an HS256 key needs at least 32 bytes")
    return key


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "issuer",  # for `manage.py createuser`
    # No "rest_framework_simplejwt.token_blacklist": revgate revokes tokens
    # at the edge, so there is no OutstandingToken table to grow and flush.
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "issuer.urls"
WSGI_APPLICATION = "issuer.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SIMPLEJWT_DB", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

USE_TZ = True
TIME_ZONE = "UTC"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
    ],
    "UNAUTHENTICATED_USER": None,
}

SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": _signing_key(),
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    # revgate's revocation.max_token_lifetime must be at least this long.
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    # Every refresh returns a new refresh token; revgate's
    # refresh_reuse_detection treats a replayed old one as theft.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": False,
    "UPDATE_LAST_LOGIN": False,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",  # revgate: jwt.subject_claim: user_id
    "TOKEN_TYPE_CLAIM": "token_type",  # "access" or "refresh": revgate's required claims
    "JTI_CLAIM": "jti",
    "AUTH_HEADER_TYPES": ("Bearer",),
}
