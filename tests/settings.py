"""Test settings: production settings with a throwaway secret and plain-HTTP test client."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")

from queuey_site.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
QUEUEY_WATCHDOG_METRICS_PORT = 0

# Each pytest process gets its own SQLite test file, so parallel runs never share one.
if DATABASES["default"]["ENGINE"] == "queuey_site.sqlite":  # noqa: F405
    DATABASES["default"]["TEST"]["NAME"] = str(  # noqa: F405
        BASE_DIR / "var" / f"test-queuey-{os.getpid()}.sqlite3"  # noqa: F405
    )
