"""FeeDesk settings. Everything deployment-specific comes from the environment."""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("FEEDESK_DEBUG", default=True)
SECRET_KEY = os.environ.get("FEEDESK_SECRET_KEY", "feedesk-development-key-not-for-production")
ALLOWED_HOSTS = [
    h for h in os.environ.get("FEEDESK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("FEEDESK_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "feedesk.core",
    "feedesk.organizations",
    "feedesk.users",
    "feedesk.people",
    "feedesk.catalog",
    "feedesk.ledger",
    "feedesk.audit",
    "feedesk.billing",
    "feedesk.enrolment",
    "feedesk.payments",
    "feedesk.attendance",
    "feedesk.gateways",
    "feedesk.api",
    "feedesk.portal",
    "feedesk.desk",
    "feedesk.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "feedesk.users.middleware.UserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "feedesk.users.middleware.SessionUserAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# Requests machines make carry their own credentials: the JSON API its bearer token, a payment
# provider's notification its signature, a health probe nothing. They skip sessions, CSRF, the
# signed-in user and messages (feedesk/core/handlers.py sends them down this shorter stack).
STATELESS_PATHS = (
    r"^/(?:api/|healthz$|readyz$|gateways/(?:wechat|alipay)/[^/]+/notify/$|gateways/sim/(?!pay/))"
)
STATELESS_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    # The family portal's pages (each app's jinja2/ folder: only the portal has one) are Jinja2:
    # compiled to Python, they render several times faster than the Django template language,
    # whose rendering was about a third of a portal request's CPU. Everything else stays DTL.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "environment": "feedesk.portal.jinja2env.environment",
            "context_processors": ["feedesk.portal.jinja2env.csrf"],
        },
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "feedesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# SQLite is the embedded default; PostgreSQL (psycopg 3) through DATABASE_URL in production.
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("FEEDESK_CONN_MAX_AGE", "60")))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["CONN_MAX_AGE"] = 0 if _db["NAME"] == ":memory:" else _db.get("CONN_MAX_AGE", 0)
    _db["OPTIONS"] = {
        # Writers take the lock when the transaction starts, so two writers never deadlock
        # on a read-to-write upgrade; WAL keeps readers unblocked; FULL fsyncs every commit.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;"
            "PRAGMA foreign_keys=ON;PRAGMA busy_timeout=20000;"
        ),
    }
if _db["ENGINE"] == "django.db.backends.postgresql":
    # The hot paths' lean statements bind server-side and are prepared after this many runs on a
    # connection (psycopg's default). "off" disables it, e.g. behind a pooler that cannot keep them.
    _prepare = os.environ.get("FEEDESK_PG_PREPARE_THRESHOLD", "5")
    _db["OPTIONS"] = {"prepare_threshold": None if _prepare == "off" else int(_prepare)}
if os.environ.get("FEEDESK_TEST_DB_NAME"):
    _db["TEST"] = {"NAME": os.environ["FEEDESK_TEST_DB_NAME"]}
DATABASES = {"default": _db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"
LOGIN_URL = "desk:login"
LOGIN_REDIRECT_URL = "desk:dashboard"
LOGOUT_REDIRECT_URL = "desk:login"

# System accounts (the online gateway's poster) are refused at login.
AUTHENTICATION_BACKENDS = ["feedesk.gateways.auth.HumanAccountsBackend"]

# Database sessions, loaded on each request with their user in one lean statement.
SESSION_ENGINE = "feedesk.users.sessions"

# New and changed passwords: Argon2id (feedesk/users/hashers.py). The others verify older hashes,
# which are upgraded at their owner's next sign-in.
PASSWORD_HASHERS = [
    "feedesk.users.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "feedesk" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "feedesk" / "static"]

# Portal one-time codes: FEEDESK_CODE_SENDER is the dotted path of a text-message sender; without
# one, codes are shown on screen only where this is on (development and the demo), never logged.
FEEDESK_CODE_SENDER = os.environ.get("FEEDESK_CODE_SENDER", "")
FEEDESK_SHOW_CODES_ON_SCREEN = env_bool("FEEDESK_SHOW_CODES_ON_SCREEN", default=DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Merchant keys and API secrets are redacted from every record before any handler sees it.
    "filters": {"redact_secrets": {"()": "feedesk.gateways.secrets.SecretRedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("FEEDESK_LOG_LEVEL", "WARNING")},
}

# Online payment gateways. FEEDESK_SITE_URL is the public address providers send callbacks to.
FEEDESK_SITE_URL = os.environ.get("FEEDESK_SITE_URL", "http://127.0.0.1:8000")
# Gateway secrets are encrypted with a key derived from this (or SECRET_KEY when empty).
FEEDESK_SECRETS_KEY = os.environ.get("FEEDESK_SECRETS_KEY", "")
# The simulated gateway lets anyone "pay": on only for development, demos and tests.
FEEDESK_ALLOW_SIMULATED_GATEWAY = env_bool("FEEDESK_ALLOW_SIMULATED_GATEWAY", default=DEBUG)
FEEDESK_SIM_WECHAT_API_URL = os.environ.get("FEEDESK_SIM_WECHAT_API_URL", "")

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("FEEDESK_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
