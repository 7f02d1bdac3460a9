"""Callers of the API: client systems with API keys, staff sessions, anonymous callers.

A client system sends ``Authorization: Api-Key <key>``; an operator's admin
session (with its CSRF token on writes) works too. A view belongs to a
scope, ``check`` (the default) or ``analyze`` (``required_scope``): checks
are open to anyone while ``ALLOW_ANONYMOUS_CHECKS`` is on, and otherwise,
like ``analyze`` always, need a key with the scope or a staff session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject, empty
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle
from rest_framework_api_key.permissions import KeyParser

from api.models import ClientKey, Scope, VerifiedKey

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

# DRF's reading of the client's address, NUM_PROXIES included.
_ADDRESS_READER = BaseThrottle()


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

        Raises ``AuthenticationFailed`` (401) for a wrong, revoked or expired key.
        """
        key = self._parser.get_from_authorization(request)
        if key is None:
            return None
        verified = ClientKey.objects.verify(key)
        if verified is None:
            raise AuthenticationFailed("Invalid API key.")
        if verified.expired:
            raise AuthenticationFailed("API key has expired.")
        return AnonymousUser(), verified

    def authenticate_header(self, request: Request) -> str:
        """Name the scheme in ``WWW-Authenticate``, which makes DRF answer 401, not 403."""
        return self.keyword


def view_scope(view: APIView) -> str:
    """Return the scope of *view*: its ``required_scope``, ``check`` by default."""
    return getattr(view, "required_scope", Scope.CHECK)


def caller_may(request: Request, scope: str) -> bool:
    """Return whether the authenticated caller holds *scope*: a key with it, or staff."""
    key = request.auth
    if isinstance(key, VerifiedKey):
        return key.has_scope(scope)
    return bool(request.user.is_staff)


def is_anonymous(request: Request) -> bool:
    """Return whether *request* came with neither an API key nor a signed-in user."""
    return not isinstance(request.auth, VerifiedKey) and not request.user.is_authenticated


def may_see_inactive_sets(request: Request) -> bool:
    """Return whether the caller sees inactive rule sets: staff and ``analyze`` keys do."""
    return caller_may(request, Scope.ANALYZE)


class ScopePermission(BasePermission):
    """Let a caller use a view of its scope (see the module's docstring).

    DRF answers 401 when no credentials were sent and 403 when the
    credentials lack the scope.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        """Return whether the caller may use *view*."""
        scope = view_scope(view)
        if scope == Scope.CHECK and settings.ALLOW_ANONYMOUS_CHECKS:
            return True
        return caller_may(request, scope)


def client_address(request: HttpRequest) -> str:
    """Return the client's address.

    That is ``REMOTE_ADDR``, or with ``NUM_PROXIES`` trusted proxies in
    front, the address the outermost of them added to ``X-Forwarded-For``.
    """
    return _ADDRESS_READER.get_ident(request) or ""


def caller_name(request: HttpRequest | Request) -> str:
    """Return who made *request*: ``key:<name>``, ``user:<id>`` or ``anonymous``.

    Reads only what authentication has already established (DRF copies its
    outcome onto Django's request; the admin resolves its session's user),
    so naming a caller never queries the database. The access log and the
    decision log name callers with it.
    """
    key = getattr(request, "auth", None)
    if isinstance(key, VerifiedKey):
        return f"key:{key.name}"
    user = getattr(request, "user", None)
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return "anonymous"
    return f"user:{user.pk}" if user.is_authenticated else "anonymous"
