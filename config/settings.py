"""CivicGrid settings: everything comes from CIVICGRID_* environment variables.

Defaults are safe for the embedded demo (SQLite under var/, DEBUG on only for localhost).
A bad value raises ConfigError at import time, so the process refuses to start.
"""

from __future__ import annotations

import sys
from pathlib import Path

from config.env import (
    ConfigError,
    env_bool,
    env_cache,
    env_choices,
    env_database,
    env_float,
    env_int,
    env_list,
    env_str,
    env_time,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CIVICGRID_VAR_DIR", str(BASE_DIR / "var")))

try:
    DEBUG = env_bool("CIVICGRID_DEBUG", False)
    SECRET_KEY = env_str("CIVICGRID_SECRET_KEY", "")
    if not SECRET_KEY:
        if not DEBUG and env_bool("CIVICGRID_REQUIRE_SECRET_KEY", False):
            raise ConfigError("CIVICGRID_SECRET_KEY must be set in production.")
        # Demo default: fine on a laptop, refused by `check --deploy` in production.
        SECRET_KEY = "civicgrid-demo-insecure-key-change-me"
    elif len(SECRET_KEY) < 32:
        raise ConfigError("CIVICGRID_SECRET_KEY must be at least 32 characters long.")
    ALLOWED_HOSTS = env_list("CIVICGRID_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
    DATABASES = {
        "default": env_database(
            "CIVICGRID_DATABASE_URL", f"sqlite:///{VAR_DIR / 'civicgrid.sqlite3'}"
        )
    }
    # Empty: each process counts in its own memory (the demo). Set a Redis URL in production so
    # rate limits (Open311) and other counters hold across every worker process.
    CACHES = {"default": env_cache("CIVICGRID_CACHE_URL", "")}
    # Locator: how far (metres) a point in a gap between grids may be from the nearest grid
    # and still be assigned to it, and how often (seconds) a process re-checks the area version.
    LOCATOR_GAP_TOLERANCE_M = env_float("CIVICGRID_LOCATOR_GAP_TOLERANCE_M", 50.0, minimum=0)
    LOCATOR_VERSION_CHECK_SECONDS = env_float(
        "CIVICGRID_LOCATOR_VERSION_CHECK_SECONDS", 1.0, minimum=0
    )
    # A child polygon may stick out of its parent by this much (metres) and still be "inside".
    AREA_CONTAINMENT_TOLERANCE_M = env_float(
        "CIVICGRID_AREA_CONTAINMENT_TOLERANCE_M", 5.0, minimum=0
    )
    # Gaps between sibling areas and overlaps smaller than this (m²) are digitising slivers, not
    # findings: the sibling report, boundary imports and split checks ignore them.
    AREA_GAP_MIN_M2 = env_float("CIVICGRID_AREA_GAP_MIN_M2", 50.0, minimum=0)
    # Coverage report thresholds (格不漏户): staff per grid.
    COVERAGE_MIN_STAFF = env_int("CIVICGRID_COVERAGE_MIN_STAFF", 3, minimum=0)
    COVERAGE_MAX_STAFF = env_int("CIVICGRID_COVERAGE_MAX_STAFF", 5, minimum=1)
    IMPORT_MAX_BYTES = env_int("CIVICGRID_IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
    # An API import of a file up to this size runs inside the request (the answer is the
    # finished job); a larger one runs in the background and the client polls the job.
    IMPORT_SYNC_MAX_BYTES = env_int("CIVICGRID_IMPORT_SYNC_MAX_BYTES", 512 * 1024, minimum=0)
    # Duplicate candidates at intake: open cases this close (metres) and this recent (days);
    # the scorer is a dotted path, so a learned scorer can replace the weighted one.
    DUPLICATE_RADIUS_M = env_float("CIVICGRID_DUPLICATE_RADIUS_M", 200.0, minimum=1)
    DUPLICATE_WINDOW_DAYS = env_int("CIVICGRID_DUPLICATE_WINDOW_DAYS", 7, minimum=1)
    DUPLICATE_SCORER = env_str(
        "CIVICGRID_DUPLICATE_SCORER", "civicgrid.cases.duplicates.weighted_score"
    )
    # The default scorer (docs/duplicates.md): text similarity of character n-grams, scaled by
    # floor + (1 - floor) x the weighted place/time/category agreement; at or above the
    # threshold a candidate is a likely duplicate. Chosen on real repeats (bench/duplicates.py).
    DUPLICATE_THRESHOLD = env_float("CIVICGRID_DUPLICATE_THRESHOLD", 0.55, minimum=0)
    DUPLICATE_TEXT_FLOOR = env_float("CIVICGRID_DUPLICATE_TEXT_FLOOR", 0.75, minimum=0)
    DUPLICATE_NGRAM = env_int("CIVICGRID_DUPLICATE_NGRAM", 3, minimum=1)
    DUPLICATE_WEIGHTS = {
        "distance": env_float("CIVICGRID_DUPLICATE_WEIGHT_DISTANCE", 0.5, minimum=0),
        "time": env_float("CIVICGRID_DUPLICATE_WEIGHT_TIME", 0.3, minimum=0),
        "category": env_float("CIVICGRID_DUPLICATE_WEIGHT_CATEGORY", 0.2, minimum=0),
    }
    MAP_TILE_URL = env_str("CIVICGRID_MAP_TILE_URL", "")
    MAP_TILE_ATTRIBUTION = env_str("CIVICGRID_MAP_TILE_ATTRIBUTION", "")
    # 重办: an unsolved or dissatisfied callback sends a case back to its unit this many times
    # at most; after that the callback stands and a dispatcher decides.
    CASE_MAX_REOPENS = env_int("CIVICGRID_CASE_MAX_REOPENS", 2, minimum=0)
    # Scorecard rollups: how many event ids a refresh looks back below its watermark.
    ROLLUP_EVENT_WINDOW = env_int("CIVICGRID_ROLLUP_EVENT_WINDOW", 1000, minimum=0)
    # Scorecard colours: a rate at or above GOOD is green, at or above FAIR amber, else red.
    SCORING_RATE_GOOD = env_float("CIVICGRID_SCORING_RATE_GOOD", 0.9, minimum=0)
    SCORING_RATE_FAIR = env_float("CIVICGRID_SCORING_RATE_FAIR", 0.8, minimum=0)
    # Dashboards: the scorecard preset whose definitions (weights of partly solved and basically
    # satisfied answers) the three rates on the dashboards use.
    DASHBOARD_PRESET = env_str("CIVICGRID_DASHBOARD_PRESET", "zhungeer")
    # Case clocks: where working-day counting starts for a case received on a day off.
    OFFICE_OPENS = env_time("CIVICGRID_OFFICE_OPENS", "09:00")
    # Notifications: in-app always works; email uses Django's mail settings, SMS posts to the
    # gateway (or only logs the message when no gateway is set), webhook posts JSON.
    NOTIFY_CHANNELS = env_choices(
        "CIVICGRID_NOTIFY_CHANNELS", ["in_app"], {"in_app", "email", "sms", "webhook"}
    )
    SMS_GATEWAY_URL = env_str("CIVICGRID_SMS_GATEWAY_URL", "")
    WEBHOOK_URL = env_str("CIVICGRID_WEBHOOK_URL", "")
    if "webhook" in NOTIFY_CHANNELS and not WEBHOOK_URL:
        raise ConfigError("CIVICGRID_NOTIFY_CHANNELS has webhook: set CIVICGRID_WEBHOOK_URL.")
    NOTIFY_MAX_ATTEMPTS = env_int("CIVICGRID_NOTIFY_MAX_ATTEMPTS", 5, minimum=1)
    # A failed delivery waits BASE seconds before its second attempt, twice as long before each
    # next one, never longer than MAX seconds.
    NOTIFY_RETRY_BASE_SECONDS = env_float("CIVICGRID_NOTIFY_RETRY_BASE_SECONDS", 60.0, minimum=1)
    NOTIFY_RETRY_MAX_SECONDS = env_float("CIVICGRID_NOTIFY_RETRY_MAX_SECONDS", 3600.0, minimum=1)
    NOTIFY_TIMEOUT_SECONDS = env_float("CIVICGRID_NOTIFY_TIMEOUT_SECONDS", 10.0, minimum=0.1)
    # Hotspots (insights/hotspots.py): a category x area's week is a rise when it has at least
    # MIN_COUNT cases and a Poisson tail below ALPHA against the mean of its previous
    # BASELINE_WEEKS weeks; clusters are DBSCAN groups of CLUSTER_MIN_CASES cases of one category
    # within CLUSTER_RADIUS_M over the last WINDOW_DAYS; a phone or address with REPEAT_MIN
    # cases in the window is a repeat caller or address.
    HOTSPOT_BASELINE_WEEKS = env_int("CIVICGRID_HOTSPOT_BASELINE_WEEKS", 8, minimum=1)
    HOTSPOT_MIN_COUNT = env_int("CIVICGRID_HOTSPOT_MIN_COUNT", 5, minimum=1)
    HOTSPOT_ALPHA = env_float("CIVICGRID_HOTSPOT_ALPHA", 0.01, minimum=0)
    HOTSPOT_CLUSTER_RADIUS_M = env_float("CIVICGRID_HOTSPOT_CLUSTER_RADIUS_M", 150.0, minimum=1)
    HOTSPOT_CLUSTER_MIN_CASES = env_int("CIVICGRID_HOTSPOT_CLUSTER_MIN_CASES", 4, minimum=2)
    HOTSPOT_WINDOW_DAYS = env_int("CIVICGRID_HOTSPOT_WINDOW_DAYS", 28, minimum=1)
    HOTSPOT_REPEAT_MIN = env_int("CIVICGRID_HOTSPOT_REPEAT_MIN", 3, minimum=2)
    # Category classifier: intake dispatches on the classifier's suggestion alone only at or
    # above this calibrated confidence, and only where the catalogue names one unit; 1 is off.
    CLASSIFIER_AUTO_CONFIDENCE = env_float("CIVICGRID_CLASSIFIER_AUTO_CONFIDENCE", 1.0, minimum=0)
    if CLASSIFIER_AUTO_CONFIDENCE > 1:
        raise ConfigError("CIVICGRID_CLASSIFIER_AUTO_CONFIDENCE must be between 0 and 1.")
    # Each process re-reads which classifier model is in use at most every this many seconds
    # (its own activations and rollbacks are seen at once); 0 reads it for every case.
    CLASSIFIER_CHECK_SECONDS = env_float("CIVICGRID_CLASSIFIER_CHECK_SECONDS", 1.0, minimum=0)
    # A serving process loads the Chinese text tools (jieba's dictionary, scikit-learn) in the
    # background when it starts, so the first topic-mining request does not wait for them.
    # Off by default (tests and commands do not need it); `make demo` turns it on.
    WARM_UP = env_bool("CIVICGRID_WARM_UP", False)
    # SQLite's page cache per connection, in MiB (its own default is 2): a bigger cache keeps
    # the index pages of a large database in memory for bulk writes and full recounts.
    SQLITE_CACHE_MB = env_int("CIVICGRID_SQLITE_CACHE_MB", 64, minimum=2)
except ConfigError as exc:
    sys.stderr.write(f"CivicGrid configuration error: {exc}\n")
    raise

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {})
    # WAL lets the web server read while an import writes; the timeout avoids "database is locked".
    DATABASES["default"]["OPTIONS"].update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            f"PRAGMA cache_size=-{SQLITE_CACHE_MB * 1024};",
        }
    )
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "civicgrid.core",
    "civicgrid.accounts",
    "civicgrid.areas",
    "civicgrid.registry",
    "civicgrid.cases",
    "civicgrid.insights",
    "civicgrid.open311",
    "civicgrid.scoring",
    "civicgrid.dashboards",
    "civicgrid.classifier",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
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
                "civicgrid.core.context_processors.civicgrid",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Front-end libraries come from npm (package.json), never from a CDN: the machine has no internet.
STATICFILES_DIRS = [
    ("vendor/leaflet", BASE_DIR / "node_modules" / "leaflet" / "dist"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
]
STATICFILES_DIRS = [(prefix, path) for prefix, path in STATICFILES_DIRS if path.exists()]
MEDIA_ROOT = VAR_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("CIVICGRID_LOG_LEVEL", "WARNING")},
}
