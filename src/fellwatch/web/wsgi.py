"""WSGI entry point for a production server (e.g. gunicorn fellwatch.web.wsgi)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fellwatch.web.settings")
application = get_wsgi_application()
