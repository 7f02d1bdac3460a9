"""Failed logins and lockouts (django-axes): who is locked out, and the lines logged.

A user name is locked out at the address its failures came from, never
everywhere: anyone could otherwise lock the real admin out by failing as
``admin`` from a few addresses. An address is locked out, whatever the
name, after a spray of failures over many names, at a larger limit of its
own, so that one operator's typos do not lock out the colleagues behind the
same address. django-axes' own log lines put the user name and address
inside the message, so its logger is quiet below errors (``config.logs``)
and these lines say it instead.
"""

import logging
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db.models import Sum
from django.dispatch import receiver
from django.http import HttpRequest

from api.auth import client_address

logger = logging.getLogger(__name__)


class UserAtAddressLockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler, with a limit of its own for a spraying address.

    ``AXES_LOCKOUT_PARAMETERS`` counts a login's failures two ways: for its
    user name from its address, then from its address for any name.
    django-axes holds both counts to one limit, which would make the second
    lock the address out whenever the first locks the name; here the second
    is held to ``ADMIN_ADDRESS_FAILURE_LIMIT`` instead. A success forgets
    the name's failures at the address, and only those.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """Return the failures that count toward locking this login out.

        They are the user name's failures from this address; once the
        address has failed ``ADMIN_ADDRESS_FAILURE_LIMIT`` times, whatever
        the names, at least ``AXES_FAILURE_LIMIT``, which locks it out.
        """
        name_here, address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if address >= settings.ADMIN_ADDRESS_FAILURE_LIMIT:
            return max(name_here, get_failure_limit(request, credentials))
        return name_here

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        """Forget the failures of this login's user name at its address; return how many.

        A success says nothing of the other names tried from the address:
        django-axes would forget those too, and an operator's login would
        wipe out the count of a spray from behind the same address.
        """
        name_here, _ = self.filter_user_attempts(request, credentials)
        count, _ = name_here.delete()
        return count


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
    """Log that a user name at an address, or an address, is locked out after failures."""
    logger.warning("login locked out", extra={"username": username, "client_ip": ip_address})
