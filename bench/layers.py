"""Profile ``POST /rules/check/`` in process: which layer of the stack takes the time.

Run ``.venv/bin/python bench/layers.py`` (or ``make bench-layers``). It
prepares a site (``migrate``, ``collectstatic``, ``seed_orders``: a SQLite file
in a temporary folder), sets Django up in this process with the production
settings (``config.settings``: every production middleware, ``DEBUG`` off,
``LOG_LEVEL=INFO``, the JSON log lines written to ``/dev/null``) and calls the
WSGI application as a gunicorn worker does, with the three seeded orders and
the three built-in rules. After a warm-up, each round times ``--requests``
requests without a profiler, then profiles as many with cProfile.

Each function's own time goes to the layer its module belongs to (``LAYERS``,
by module prefix, so that the table survives a refactor that keeps the
packages). A function of no layer (the standard library, C built-ins,
``django.utils`` and the like) is charged to the layers of its callers:
cProfile's caller graph gives its own time under each caller exactly, and
further up a caller of no layer passes it on in proportion to its callers'
cumulative time.

The table gives each layer's microseconds per request under the profiler and
its share of the total, as the median of the rounds with the lowest and
highest share, and that share of the unprofiled time per request. cProfile
adds a cost to every call, so layers made of many small calls weigh a little
more under it than they do without it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.spread import Spread, repeats
from config.tests.servers import prepare_site

RULES = ["min_total_100", "min_items_2", "divisible_by_5"]
ORDER_IDS = (1, 2, 3)
PASSED = {1: True, 2: False, 3: True}
PATH = "/rules/check/"
OTHER = "other (the harness, unattributed)"

# Layers in the order a request meets them, each a tuple of dotted prefixes of
# "module.function" (C built-ins: "module.Class.method"). The longest
# matching prefix wins, so a function can be carved out of its module.
LAYERS: dict[str, tuple[str, ...]] = {
    "request id + access log middleware": ("config.request_logging",),
    "Django stock middleware": (
        "django.middleware",
        "django.contrib.sessions.middleware",
        "django.contrib.auth.middleware",
        "django.contrib.messages.middleware",
        "django.utils.deprecation",
    ),
    "whitenoise middleware": ("whitenoise",),
    "history + lockout middleware (simple_history, axes)": ("simple_history", "axes"),
    "metrics (middleware, counters, prometheus_client)": (
        "config.metrics",
        "api.metrics",
        "prometheus_client",
    ),
    "Django handler, URL routing, HttpRequest/Response": (
        "django.core.handlers",
        "django.urls",
        "django.http",
        "django.dispatch",
    ),
    "DRF dispatch (APIView, Request, negotiation)": (
        "django.views",
        "rest_framework.views",
        "rest_framework.request",
        "rest_framework.negotiation",
        "rest_framework.settings",
        "rest_framework.permissions",
        "rest_framework.authentication",
        "rest_framework.throttling",
        "rest_framework.versioning",
        "rest_framework_api_key",
        "api.auth",
        "api.authentication",
        "api.throttles",
        "api.negotiation",
        "api.errors",
    ),
    "request parsing + validation (serializers)": (
        "rest_framework.parsers",
        "rest_framework.serializers",
        "rest_framework.fields",
        "rest_framework.validators",
        "rest_framework.utils.serializer_helpers",
        "django.core.validators",
        "api.parsers",
        "rules.serializers",
        "orders.serializers",
    ),
    "database (order read, decision write, upkeep)": (
        "django.db",
        "orders.selectors",
        "orders.models",
        "sqlite3",
        "_sqlite3",
        "psycopg2",
    ),
    "rule evaluation (engine)": ("rules.engine", "rules.order_rules", "rules.conditions"),
    "the check view (rules.views)": ("rules.views",),
    "decision log (rules.recording, decisions)": (
        "rules.recording",
        "decisions",
    ),
    "response rendering": (
        "rest_framework.response",
        "rest_framework.renderers",
        "rest_framework.utils.encoders",
        "django.template.response",
    ),
    "JSON logging (both lines)": (
        "logging",
        "pythonjsonlogger",
        "api.request_ids.filter",
    ),
}

# "<method 'execute' of 'sqlite3.Connection' objects>", "<built-in method _json.dumps>"
_BUILTIN_METHOD = re.compile(r"<method '(?P<name>\w+)' of '(?P<owner>[\w.]+)' objects>")
_BUILTIN_FUNCTION = re.compile(r"<built-in method (?P<dotted>[\w.]+)>")

Function = tuple[str, int, str]
Edge = tuple[int, int, float, float]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=3000, help="requests per round and mode (default 3000)"
    )
    parser.add_argument(
        "--warmup", type=int, default=300, help="untimed requests first (default 300)"
    )
    parser.add_argument("--rounds", type=repeats, default=3, help="rounds, at least 3 (default 3)")
    return parser.parse_args(argv)


def dotted_name(function: Function, modules: Mapping[str, str]) -> str | None:
    """Return ``module.function`` for a cProfile key, or ``None`` when unknown."""
    filename, _, name = function
    if filename == "~":
        if match := _BUILTIN_METHOD.fullmatch(name):
            return f"{match['owner']}.{match['name']}"
        if match := _BUILTIN_FUNCTION.fullmatch(name):
            return match["dotted"]
        return None
    module = modules.get(filename)
    return f"{module}.{name}" if module else None


def layer_of(dotted: str | None) -> str | None:
    """Return the layer whose longest prefix matches *dotted*, or ``None``."""
    if dotted is None:
        return None
    best, best_length = None, 0
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            if (dotted == prefix or dotted.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = layer, len(prefix)
    return best


def attribute(
    entries: Mapping[Function, tuple[int, int, float, float, Mapping[Function, Edge]]],
    modules: Mapping[str, str],
) -> dict[str, float]:
    """Return the seconds of each layer in cProfile's raw *entries*.

    A function of no layer is charged to its callers' layers, as the module
    docstring says; what reaches no layer is ``OTHER``.
    """
    layers = {function: layer_of(dotted_name(function, modules)) for function in entries}
    upward: dict[Function, dict[str, float]] = {}

    def caller_layers(function: Function, path: frozenset[Function]) -> dict[str, float]:
        """Return the fractions, by layer, of the time that *function* passes up.

        Callers already on *path* (recursion) are left out; an empty result
        means every caller was, and the edge carries no weight.
        """
        if layers.get(function):
            return {layers[function]: 1.0}
        if function in upward:
            return upward[function]
        all_callers = entries.get(function, (0, 0, 0.0, 0.0, {}))[4]
        if not all_callers:
            return {OTHER: 1.0}
        weighted: list[tuple[float, dict[str, float]]] = []
        for caller, edge in all_callers.items():
            if caller in path or caller == function:
                continue
            found = caller_layers(caller, path | {function})
            if found:
                weighted.append((edge[3], found))
        total = sum(weight for weight, _ in weighted)
        fractions: dict[str, float] = defaultdict(float)
        for weight, found in weighted:
            for layer, fraction in found.items():
                fractions[layer] += (weight / total if total else 1 / len(weighted)) * fraction
        # A result cut short by the path depends on it: remember only whole ones.
        if len(weighted) == sum(caller != function for caller in all_callers):
            upward[function] = dict(fractions)
        return dict(fractions)

    seconds: dict[str, float] = defaultdict(float)
    for function, (_, _, own, _, callers) in entries.items():
        if layers[function]:
            seconds[layers[function]] += own
            continue
        found = [
            (edge[2], caller_layers(caller, frozenset({function})))
            for caller, edge in callers.items()
        ]
        found = [(weight, fractions) for weight, fractions in found if fractions]
        total = sum(weight for weight, _ in found)
        if not found:
            seconds[OTHER] += own
        for weight, fractions in found:
            share = own * (weight / total if total else 1 / len(found))
            for layer, fraction in fractions.items():
                seconds[layer] += share * fraction
    return dict(seconds)


def wsgi_requests(count: int) -> Iterator[dict[str, Any]]:
    """Yield *count* WSGI environs of ``POST /rules/check/``, the seeded orders in turn."""
    for index in range(count):
        body = json.dumps({"order_id": ORDER_IDS[index % len(ORDER_IDS)], "rules": RULES})
        yield check_environ(body.encode())


def check_environ(data: bytes) -> dict[str, Any]:
    """Return the WSGI environ of ``POST /rules/check/`` with the JSON body *data*."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PATH,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(data)),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def serve(
    application: Callable[..., Iterable[bytes]],
    environs: Iterable[dict[str, Any]],
    profiler: cProfile.Profile | None = None,
) -> tuple[float, list[tuple[str, bytes]]]:
    """Serve each environ as a gunicorn worker would; return the seconds and the replies.

    With *profiler*, only the application's own work is profiled.
    """
    replies: list[tuple[str, bytes]] = []
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        statuses.append(status)

    elapsed = 0.0
    for environ in environs:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        response = application(environ, start_response)
        body = b"".join(response)
        response.close()  # type: ignore[attr-defined]
        if profiler:
            profiler.disable()
        elapsed += time.perf_counter() - started
        replies.append((statuses[-1], body))
    return elapsed, replies


def check_replies(replies: Iterable[tuple[str, bytes]]) -> None:
    """Raise ``RuntimeError`` unless every reply is a 200 with the expected verdict."""
    for index, (status, body) in enumerate(replies):
        order_id = ORDER_IDS[index % len(ORDER_IDS)]
        if not status.startswith("200") or json.loads(body)["passed"] is not PASSED[order_id]:
            raise RuntimeError(f"order {order_id}: {status} {body[:300]!r}")


def setup_django(site: Path) -> Callable[..., Iterable[bytes]]:
    """Prepare *site*, set Django up on it in this process and return the WSGI application."""
    # Throttling off: the profile's thousands of requests from one address would
    # pass the anonymous rate; what counting costs is check_throughput.py's measure.
    os.environ.update(prepare_site(site, LOG_LEVEL="INFO", THROTTLE_ANONYMOUS="off"))
    from config.wsgi import application

    # The log lines are formatted and written as in production, but not shown.
    devnull = open(os.devnull, "w")  # noqa: SIM115 (open for the whole run)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)
    return application


def report(
    rounds: list[dict[str, float]], plain_us: Spread, profiled_us: Spread, args: argparse.Namespace
) -> None:
    """Write the table of layers to stdout."""
    total = [sum(seconds.values()) for seconds in rounds]
    rows = [
        f"POST {PATH} in process through the production WSGI stack: {len(RULES)} rules, "
        f"the {len(ORDER_IDS)} seeded orders in turn, SQLite, LOG_LEVEL=INFO",
        f"{args.rounds} rounds of {args.requests} requests after {args.warmup} to warm up; "
        "median (min..max) of the rounds",
        f"us per request without a profiler: {plain_us.format('.0f')}; "
        f"under cProfile: {profiled_us.format('.0f')}",
        "",
        f"{'layer':<52} {'us/req profiled':>16} {'share %: median (min..max)':>28} "
        f"{'share of unprofiled us':>23}",
    ]
    for layer in [*LAYERS, OTHER]:
        per_request = Spread.of(
            seconds.get(layer, 0.0) / args.requests * 1e6 for seconds in rounds
        )
        share = Spread.of(
            seconds.get(layer, 0.0) / all_seconds * 100
            for seconds, all_seconds in zip(rounds, total, strict=True)
        )
        rows.append(
            f"{layer:<52} {per_request.median:>16.1f} {share.format('.1f'):>28} "
            f"{share.median / 100 * plain_us.median:>23.0f}"
        )
    profiled_total = Spread.of(seconds / args.requests * 1e6 for seconds in total)
    rows.append(
        f"{'total':<52} {profiled_total.median:>16.1f} {'100.0':>28} {plain_us.median:>23.0f}"
    )
    sys.stdout.write("\n".join(rows) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Profile the check by layer and write the table."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-layers-") as tmp:
        application = setup_django(Path(tmp))
        _, replies = serve(application, wsgi_requests(args.warmup))
        check_replies(replies)
        modules = {
            module.__file__: name
            for name, module in list(sys.modules.items())
            if getattr(module, "__file__", None)
        }
        plain_us, profiled_us, rounds = [], [], []
        for _ in range(args.rounds):
            elapsed, replies = serve(application, wsgi_requests(args.requests))
            check_replies(replies)
            plain_us.append(elapsed / args.requests * 1e6)
            profiler = cProfile.Profile()
            elapsed, replies = serve(application, wsgi_requests(args.requests), profiler)
            check_replies(replies)
            profiled_us.append(elapsed / args.requests * 1e6)
            profiler.create_stats()
            rounds.append(attribute(profiler.stats, modules))  # type: ignore[attr-defined]
    report(rounds, Spread.of(plain_us), Spread.of(profiled_us), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
