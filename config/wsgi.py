"""WSGI entry point, served by gunicorn (``config.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Imported once Django is set up; only served processes limit their statements,
# so `migrate` and other commands keep PostgreSQL's own default.
from config.database import limit_statement_time  # noqa: E402

limit_statement_time()
