"""Django settings for the unit's records, read once from the environment.

Each setting is declared once in `SETTINGS` (name, default, help); `docs/web.md` lists them and a
test checks that it does.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

# name → (default, help). The environment is the only source; nothing else reads os.environ.
SETTINGS: dict[str, tuple[str, str]] = {
    "FELLWATCH_DATA_DIR": ("~/.local/share/fellwatch", "SQLite store, secret key"),
    "FELLWATCH_DATABASE_URL": ("", "postgresql://user:password@host:port/name; empty: SQLite"),
    "FELLWATCH_SECRET_KEY": ("", "Django's secret key; empty: generated once into the data dir"),
    "FELLWATCH_DEBUG": ("0", "1 shows Django's debug pages (never on a live system)"),
    "FELLWATCH_ALLOWED_HOSTS": ("localhost,127.0.0.1", "comma-separated host names served"),
    "FELLWATCH_HTTPS": ("0", "1 behind TLS: redirect to HTTPS and send HSTS for a year"),
    "FELLWATCH_SESSION_MINUTES": ("30", "idle minutes before a session ends"),
    "FELLWATCH_SUMMARY_SUPPRESS_BELOW": ("5", "publishable summary: counts from 1 to this - 1 "
                                         "shown as <this; 0 or 1: no suppression"),
    "FELLWATCH_CHROMIUM": ("/usr/bin/chromium", "Chromium that prints the PDF paperwork"),
    "FELLWATCH_TEST_DB_NAME": ("", "tests only: the name of the throw-away test database"),
    "FELLWATCH_REVIEW_BLUR": ("12", "gallery: default blur radius in pixels of a 256 px "
                              "thumbnail (each reviewer may choose their own)"),
    "FELLWATCH_REVIEW_REVEAL_MINUTES": ("10", "gallery: minutes a reveal of one item lasts"),
    "FELLWATCH_REVIEW_BREAK_MINUTES": ("45", "gallery: minutes on screen before a break "
                                       "reminder (each reviewer may choose fewer)"),
    "FELLWATCH_REVIEW_STACK_DISTANCE": ("10", "gallery: PDQ distance within which pictures "
                                        "are stacked (graded together) and seen-before or "
                                        "VICS grades suggested; up to 15 is fast"),
    "FELLWATCH_REVIEW_GRADES": ("", "grading configuration file (grades, set and VICS "
                                "category maps); empty: the built-in review/grades.json"),
    "FELLWATCH_VICS_GRADE_MAP": ("", "VICS export: a JSON file of grade -> Project VIC "
                                 "category laid over reports/grade_map.json; empty: that"),
}


def _env(name: str) -> str:
    return os.environ.get(name, SETTINGS[name][0])


DATA_DIR = Path(_env("FELLWATCH_DATA_DIR")).expanduser()


def private_data_dir(path: Path) -> None:
    """The data directory holds names, dates of birth, addresses and safeguarding records: the
    service's user alone may enter it (0700), whatever the umask."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)


def private_file(path: Path) -> None:
    """Create `path` 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
    database file's own mode, so all three stay the service user's alone."""
    if not path.exists():
        path.touch(mode=0o600)
    path.chmod(0o600)


def database_from_url(url: str, data_dir: Path) -> dict[str, object]:
    """One DATABASES entry from FELLWATCH_DATABASE_URL (empty: SQLite in the data dir)."""
    if not url:
        return _sqlite(str(data_dir / "records.sqlite3"))
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "fellwatch",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            # The gallery's stack subquery raises a plan's estimated cost past PostgreSQL's JIT
            # threshold, and compiling took ~21 ms of a 104 ms filtered page (bench/review.py):
            # these short paged queries gain nothing from JIT.
            "OPTIONS": {"options": "-c jit=off"},
        }
    if parts.scheme == "sqlite":
        return _sqlite(unquote(parts.path))
    raise ValueError(f"FELLWATCH_DATABASE_URL: unsupported scheme {parts.scheme!r}")


def _sqlite(name: str) -> dict[str, object]:
    if name != ":memory:" and not name.startswith("file:"):
        private_data_dir(Path(name).parent)
        private_file(Path(name))
    # Several officers at once: writers queue (IMMEDIATE takes the write lock up front, so the
    # audit log's read-then-write cannot deadlock) and readers do not wait for them (WAL).
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": name,
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL;"}}


def _secret_key() -> str:
    key = _env("FELLWATCH_SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        private_data_dir(DATA_DIR)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


DEBUG = _env("FELLWATCH_DEBUG") == "1"
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [h.strip() for h in _env("FELLWATCH_ALLOWED_HOSTS").split(",") if h.strip()]

_database = database_from_url(_env("FELLWATCH_DATABASE_URL"), DATA_DIR)
if _env("FELLWATCH_TEST_DB_NAME"):
    _database["TEST"] = {"NAME": _env("FELLWATCH_TEST_DB_NAME")}
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "fellwatch.web.audit",
    "fellwatch.web.records",
    "fellwatch.web.chats",
    "fellwatch.web.review",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the WSGI app (compressed, named by content, cached for ever):
    # no second server is needed for them.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "fellwatch.web.records.middleware.NoStoreMiddleware",
    "fellwatch.web.audit.actor.ActorMiddleware",
    # Last, so that a locked-out login is refused before any view runs (django-axes' rule).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fellwatch.web.urls"
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
WSGI_APPLICATION = "fellwatch.web.wsgi.application"

# Passwords: Argon2id first; the others only verify old hashes and upgrade them on login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out user before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (ASVS 2.2.1): 5 failures lock for 15 min, counted two ways at once: per user
# name from any address (a guesser who moves around), and per address for any user names (one
# password sprayed across many users).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "records/locked_out.html"

# Sessions end after FELLWATCH_SESSION_MINUTES idle, and with the browser.
SESSION_COOKIE_AGE = int(_env("FELLWATCH_SESSION_MINUTES")) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"

# The publishable statistics summary leaves the unit: counts below this are suppressed in it
# (records/stats.py). "<2" could only mean 1, so 2 is refused rather than taken at its word.
SUMMARY_SUPPRESS_BELOW = int(_env("FELLWATCH_SUMMARY_SUPPRESS_BELOW"))
if SUMMARY_SUPPRESS_BELOW < 0 or SUMMARY_SUPPRESS_BELOW == 2:
    raise ImproperlyConfigured("FELLWATCH_SUMMARY_SUPPRESS_BELOW: 0 or 1 (none), or 3 and above")

if _env("FELLWATCH_HTTPS") == "1":
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = [f"https://{h}" for h in ALLOWED_HOSTS]

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
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
    },
}

REVIEW_BLUR = int(_env("FELLWATCH_REVIEW_BLUR"))
REVIEW_REVEAL_MINUTES = int(_env("FELLWATCH_REVIEW_REVEAL_MINUTES"))
REVIEW_BREAK_MINUTES = int(_env("FELLWATCH_REVIEW_BREAK_MINUTES"))
REVIEW_STACK_DISTANCE = int(_env("FELLWATCH_REVIEW_STACK_DISTANCE"))
REVIEW_GRADES_FILE = _env("FELLWATCH_REVIEW_GRADES")
VICS_GRADE_MAP_FILE = _env("FELLWATCH_VICS_GRADE_MAP")
if REVIEW_BLUR < 4:
    # Below this a blurred thumbnail shows too much to be a safe default for anyone.
    raise ImproperlyConfigured("FELLWATCH_REVIEW_BLUR: 4 or more")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = None  # nothing is collected: WhiteNoise reads the apps' folders (below)
# WhiteNoise serves the apps' own static folders (finders): a handful of small files, read
# once at start, so no collectstatic step can be forgotten on an upgrade.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# A form may carry 4 MB; every long text field has a 20 000-character limit that the form
# states (models.LONG_TEXT), so an over-long field is a message next to it. Beyond 4 MB the
# request is refused with the site's own page (records.errors), not a bare 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
# A CSV import (10 MB at most, forms.CsvImportForm) is held in memory, never spooled to the
# system's temporary directory: it holds names, addresses and safeguarding records.
FILE_UPLOAD_MAX_MEMORY_SIZE = 11 * 1024 * 1024

CHROMIUM = _env("FELLWATCH_CHROMIUM")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"axes": {"handlers": ["console"], "level": "WARNING"}},
}

# The unit's offence types; the list itself is reference data in the admin (OffenceType),
# seeded from here by the first migration.
DEFAULT_OFFENCE_TYPES = [
    ("IIOC-MAKE", "Making indecent images of children"),
    ("IIOC-POSS", "Possessing indecent images of children"),
    ("IIOC-DIST", "Distributing indecent images of children"),
    ("GROOM", "Sexual communication with a child / grooming"),
    ("FRAUD", "Online fraud"),
]
