"""Callers of the API: client systems with API keys, admin sessions, anonymous callers.

A client system sends ``Authorization: Api-Key <key>`` (checked in
``api.authentication``); an operator's admin session (with its CSRF token on
writes) works too. A view belongs to a scope, ``check`` (the default) or
``analyze`` (``required_scope``): checks are open to anyone while
``ALLOW_ANONYMOUS_CHECKS`` is on, and otherwise, like ``analyze`` always, need
a key with the scope. A session needs what the admin would ask of it for the
same data: a staff user holding the model permissions the view declares
(``session_permissions``, none for checks), ``change`` standing for ``view``
as in the admin. A superuser holds every permission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject, empty
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from api.models import Scope, VerifiedKey

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

# DRF's reading of the client's address, NUM_PROXIES included.
_ADDRESS_READER = BaseThrottle()


def view_scope(view: APIView) -> str:
    """Return the scope of *view*: its ``required_scope``, ``check`` by default."""
    return getattr(view, "required_scope", Scope.CHECK)


def view_session_permissions(view: APIView) -> tuple[str, ...]:
    """Return the permissions a session needs for *view*: its ``session_permissions``."""
    return getattr(view, "session_permissions", ())


def open_to_anonymous(view: APIView) -> bool:
    """Return whether a caller with no credentials may use *view*.

    Checks are, while ``ALLOW_ANONYMOUS_CHECKS`` is on; ``analyze`` never is.
    """
    return view_scope(view) == Scope.CHECK and settings.ALLOW_ANONYMOUS_CHECKS


def caller_may(request: Request, scope: str, permissions: tuple[str, ...]) -> bool:
    """Return whether the caller may: a key with *scope*, or staff with *permissions*."""
    key = request.auth
    if isinstance(key, VerifiedKey):
        return key.has_scope(scope)
    user = request.user
    return bool(user.is_staff) and all(_holds(user, permission) for permission in permissions)


def _holds(user: AbstractUser | AnonymousUser, permission: str) -> bool:
    """Return whether *user* holds *permission*, ``change_x`` standing for ``view_x``.

    The admin shows an object to whoever may change it; so does the API.
    """
    if user.has_perm(permission):
        return True
    app_label, _, codename = permission.partition(".")
    return codename.startswith("view_") and user.has_perm(
        f"{app_label}.change_{codename.removeprefix('view_')}"
    )


def is_anonymous(request: Request) -> bool:
    """Return whether *request* came with neither an API key nor a signed-in user."""
    return not isinstance(request.auth, VerifiedKey) and not request.user.is_authenticated


class ScopePermission(BasePermission):
    """Let a caller use a view of its scope (see the module's docstring).

    DRF answers 401 when no credentials were sent and 403 when the
    credentials lack the scope.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        """Return whether the caller may use *view*."""
        if open_to_anonymous(view):
            return True
        return caller_may(request, view_scope(view), view_session_permissions(view))


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
