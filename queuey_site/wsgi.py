"""WSGI entry point for gunicorn: /v1 and the site, each with its middleware chain."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "queuey_site.settings")
django.setup(set_prefix=False)

from jobs import conf, events  # noqa: E402
from jobs.handlers.registry import registered_types  # noqa: E402
from queuey_site.handlers import RoutingWSGIHandler  # noqa: E402  (after setup)

application = RoutingWSGIHandler()
events.prime("api", conf.QUEUES, registered_types())
