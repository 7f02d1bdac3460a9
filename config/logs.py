"""The one logging configuration: JSON lines on stdout, for Django and gunicorn alike."""

from typing import Any


def logging_config(level: str) -> dict[str, Any]:
    """Return the ``dictConfig`` that writes every record as one JSON line on stdout.

    Django's settings and ``gunicorn.conf.py`` both use it, so the service,
    gunicorn's master and its workers log in the same shape. Records made
    while a request is served carry its ``request_id``.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "api.request_ids.RequestIdFilter"}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.orjson.OrjsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            # Django's and gunicorn's defaults add plain-text handlers; send
            # everything to the root's JSON handler instead.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.server": {"handlers": [], "level": level, "propagate": True},
            # 4xx responses are logged once by the API's exception handler; keep 5xx here.
            "django.request": {"handlers": [], "level": "ERROR", "propagate": True},
            # gunicorn's start, stop and worker events are kept whatever the level.
            "gunicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
            # django-axes puts user names and addresses inside its messages;
            # api.lockouts logs failed logins and lockouts with constant ones.
            "axes": {"handlers": [], "level": "ERROR", "propagate": True},
            # The application logs one access line per request itself.
            "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            # httpx logs every provider call at INFO, its address in the message;
            # rules.fetching logs the calls that fail, with constant phrases.
            "httpx": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }
