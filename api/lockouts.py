"""Failed logins and lockouts (django-axes), logged as constant messages.

django-axes counts the failures and locks an address or a user name out;
its own log lines put the user name and address inside the message, so its
logger is quiet below errors (``config.logs``) and these lines say it instead.
"""

import logging
from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from api.auth import client_address

logger = logging.getLogger(__name__)


@receiver(user_login_failed)
def log_login_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Log a failed login with the user name tried and the client's address."""
    logger.warning(
        "login failed",
        extra={
            "username": credentials.get("username"),
            "client_ip": client_address(request) if request is not None else None,
        },
    )


@receiver(user_locked_out)
def log_lockout(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str, **kwargs: Any
) -> None:
    """Log that an address or a user name is locked out after repeated failures."""
    logger.warning("login locked out", extra={"username": username, "client_ip": ip_address})
