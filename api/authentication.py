"""How a request proves who sends it: an API key, or a user's DRF token.

A wrong credential is a 401, and counts against the client's address as an
anonymous request does (``THROTTLE_ANONYMOUS``): past that rate the answer
is a 429 with ``Retry-After``, so guessing keys or tokens is as slow as
anonymous calls are. A good credential costs no count here: its caller is
counted as itself, by the throttle, like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework.authentication import BaseAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework_api_key.permissions import KeyParser

from api.models import ClientKey, VerifiedKey
from api.throttles import CallerRateThrottle

if TYPE_CHECKING:
    from rest_framework.request import Request


def _refuse(request: Request, failure: AuthenticationFailed) -> NoReturn:
    """Raise *failure*, or ``Throttled`` once the client's address is past its rate."""
    throttle = CallerRateThrottle()
    if not throttle.allow_failure(request):
        raise Throttled(throttle.wait())
    raise failure


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticate a client system by ``Authorization: Api-Key <key>``.

    One indexed lookup by the key's public prefix and a SHA-512 comparison,
    no password hash. Nothing is cached: a key revoked, or past its expiry,
    fails from the next request on. Without the header the caller is left
    to the next authentication, and else anonymous.
    """

    keyword = "Api-Key"
    _parser = KeyParser()

    def authenticate(self, request: Request) -> tuple[AnonymousUser, VerifiedKey] | None:
        """Return no user and the caller's key, or ``None`` when no key is sent.

        Raises ``AuthenticationFailed`` (401) for a wrong, revoked or expired
        key, and ``Throttled`` (429) instead past the address's rate.
        """
        key = self._parser.get_from_authorization(request)
        if key is None:
            return None
        verified = ClientKey.objects.verify(key)
        if verified is None:
            _refuse(request, AuthenticationFailed("Invalid API key."))
        if verified.expired:
            _refuse(request, AuthenticationFailed("API key has expired."))
        return AnonymousUser(), verified

    def authenticate_header(self, request: Request) -> str:
        """Name the scheme in ``WWW-Authenticate``, which makes DRF answer 401, not 403."""
        return self.keyword


class UserTokenAuthentication(TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, its failures counted against the address."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, Token] | None:
        """Return the token's user and the token, or ``None`` when no token is sent.

        Raises ``AuthenticationFailed`` (401) for a malformed or wrong token
        or an inactive user, and ``Throttled`` (429) instead past the
        address's rate.
        """
        try:
            return super().authenticate(request)
        except AuthenticationFailed as failure:
            _refuse(request, failure)
