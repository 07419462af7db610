"""WSGI entry point for gunicorn: /v1 and the site, each with its middleware chain."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "queuey_site.settings")
django.setup(set_prefix=False)

from queuey_site.handlers import RoutingWSGIHandler  # noqa: E402  (after setup)

application = RoutingWSGIHandler()
