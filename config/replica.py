"""Analysis on a read replica (``DATABASE_REPLICA_URL``): which reads go there.

A request to a view of the ``analyze`` scope (query, report, preview,
backtest, the decisions API and replay: what nginx sends to the analysis
pool) reads the stored orders and the recorded decisions from the replica,
which may be seconds behind the primary. Everything else stays on the
primary: every write, checks and batches, the admin, and even during an
analysis the rule sets and condition rules (an analysis never runs a stale
rule set), API keys, users, sessions and the throttles' counts. Migrations
run on the primary only; the replica receives them from it.

Without a replica neither the router nor the middleware is used.
"""

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from api.auth import view_scope
from api.models import Scope

# The database alias of the replica, set by config/settings.py with DATABASE_REPLICA_URL.
REPLICA = "replica"
# The data an analysis reads, and may read a little late: stored orders, recorded decisions.
REPLICATED_APPS = frozenset({"orders", "decisions"})

# Whether the request being served is an analysis: set per request by the middleware.
_analysis: ContextVar[bool] = ContextVar("analysis_reads", default=False)


class AnalysisReadsMiddleware:
    """Mark a request to a view of the ``analyze`` scope as an analysis, for the router.

    The mark holds until the response is returned: a streamed report reads
    its rows later, from the database the view chose (``rules.analysis``).
    Not used at all without a replica.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        """Wrap the rest of the chain, if a replica is configured."""
        if REPLICA not in settings.DATABASES:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Serve *request*; no mark outlives it."""
        token = _analysis.set(False)
        try:
            return self.get_response(request)
        finally:
            _analysis.reset(token)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        """Mark the request as an analysis when its view needs the ``analyze`` scope."""
        view_class = getattr(view_func, "view_class", None)
        if view_class is not None and view_scope(view_class) == Scope.ANALYZE:
            _analysis.set(True)


class ReplicaRouter:
    """Send an analysis's reads of orders and decisions to the replica; all else to the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        """Return the replica for an analysis's read of replicated data, else no opinion."""
        if _analysis.get() and model._meta.app_label in REPLICATED_APPS:
            return REPLICA
        return None

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        """Return the primary, even for an object read from the replica."""
        return DEFAULT_DB_ALIAS

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        """Migrate the primary only: the replica replays what the primary wrote."""
        return db == DEFAULT_DB_ALIAS
