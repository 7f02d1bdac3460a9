"""Calling providers: concurrently, under a deadline, through a shared cache and a breaker.

``supply(providers, orders, deadline=...)`` answers, for each order, what
each provider supplied (``orders.facts.Supplied``), by provider name. A
provider is asked once per distinct inputs (the canonical JSON of what it
reads from an order): a batch whose orders share a customer calls once.

**Calls.** A ``POST`` of the inputs as JSON to ``provider.url()`` (from
settings only: redirects are never followed, and no proxy or ``.netrc`` from
the environment applies, so no request can make the service call an address
of its choosing), with ``Authorization: Bearer`` when it has a token. Each
call has connect, write, read and pool timeouts and a total one, all of
``min(provider.timeout, time left to the deadline)``. The answer is read as
it streams, and refused past ``ANSWER_MAX_BYTES``. A non-2xx status or a
transport failure is ``error``; an answer that is not JSON or that
``provider.parse`` refuses, ``malformed``. A failed call is logged
(``provider call failed``) under the reference id its ``Supplied`` keeps;
its values are ``None``, or the provider's ``fallback``.

**Concurrency: one event loop per worker process.** Calls run as coroutines
on an asyncio loop in a thread of its own, with one ``httpx.AsyncClient``
(its connection pool) that every call reuses; both are made on first use and
made anew in a forked process (the PID is checked: gunicorn forks its
workers, and makes them in each before it serves: ``prepare_runtime``). A
thread pool of ``httpx.Client`` calls was the alternative, and
three things decided against it: httpx's timeouts bound each network
operation, not a call, and only cancellation (``asyncio.timeout``) ends a
call that a service drips slowly; a call cut short by the deadline is
cancelled and its connection closed, where a thread would go on holding it
unseen; and a batch's hundreds of calls are coroutines, not threads. The
request's thread waits for the calls' futures no longer than the deadline,
so a check never waits past it whatever the loop does. Calls in flight are
at most ``PROVIDER_MAX_CONCURRENCY`` per ``supply`` (a sync worker serves
one request at a time, so per worker).

**Deadline.** ``deadline`` is the time for the whole call, cache included.
A call that the deadline cut short or never let start is ``deadline``; a
call that its own ``timeout`` ended, ``timeout``.

**Cache.** Django's cache ``CACHES["providers"]`` (Redis when ``REDIS_URL``
is set, else a database table of its own), keyed by provider name, version,
``CACHE_FORMAT`` and the SHA-256 of its inputs, for ``cache_ttl`` seconds (0: not cached).
One ``get_many`` before calling and one ``set_many`` per TTL after; only
answers are kept, never fallbacks or failures, each with the wall-clock time
it expires. A hit's latency is the cache's. A cache that fails is counted
(``rule_engine_provider_cache_errors_total``) and logged, and the providers
are called as if it had missed; a Redis that failed is left alone a while.

In front of it, each process keeps the answers it fetched or read from the
shared cache in memory (``ANSWERS``, at most ``ANSWERS_MAX`` of them, the
least recently used dropped first) until they expire: an answer is never
used longer than ``cache_ttl`` after its provider gave it. A hit there is a
dictionary look-up; the shared cache costs a round trip (a ``SELECT``, a
Redis ``MGET`` and its client) that was most of a cached check's provider
path. In memory an answer is keyed by the provider's name and version and
the canonical JSON itself, exact with no hash to compute: the SHA-256 of the
shared cache's key is made only when memory misses.

**Circuit breaker, per provider, shared by the workers.** After
``PROVIDER_BREAKER_FAILURES`` failures in a row (``timeout``, ``error``,
``malformed``) it opens for ``PROVIDER_BREAKER_OPEN_SECONDS``: calls answer
``breaker_open`` at once. Then one trial call goes through (half-open; the
others meanwhile answer ``breaker_open``): its success closes the breaker,
its failure opens it again. Each worker keeps its breakers in memory, and
the workers share them through the providers' cache: the count of failures
in a row (any worker's answer clears it; it lapses
``SHARED_FAILURES_SECONDS`` after its last failure) and, while one is open,
until when. Before it calls a provider, a worker reads both (one
``get_many``: a cached or refused call reads nothing), takes the count as
its own and opens its breaker if another worker's is open; after the calls,
it adds its failures, and shares an opening. So a dead service gets about N
calls from the whole site, not N per worker, each holding a sync worker for
its timeout. When the cache fails, each worker counts its own failures, as
if alone. A ``deadline`` counts neither way: the service was not given its
own timeout (the check's time ran out, or a batch's calls queued), so it
says nothing of its health, and counting it would let a tight deadline open
the breaker of a healthy service; a trial call cut short by the deadline
hands the trial to the next call.

**Metrics** (``api.metrics``): ``rule_engine_provider_calls_total`` by
provider and result (``ok``, ``cache_hit`` and the failure reasons),
``rule_engine_provider_seconds`` for the calls made, and
``rule_engine_provider_breaker_state``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import math
import os
import threading
import time
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import httpx
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError
from redis.exceptions import RedisError

from api import metrics
from api.throttles import StoreBreaker, within_savepoint
from orders.facts import OrderFacts, Supplied
from rules.engine.providers import ANSWER_MAX_BYTES, PROVIDERS, MalformedAnswerError, Provider

logger = logging.getLogger(__name__)

T = TypeVar("T")

CACHE_ALIAS = "providers"
# In every cache key: what a cached entry holds (2: its expiry and the values). A
# release that reads entries otherwise (1: the values alone, no format in the key)
# never reads these, nor these its, while both run during a deploy.
CACHE_FORMAT = "2"
# What a cache raises when it cannot be used: the database's errors, Redis's.
CACHE_ERRORS = (DatabaseError, RedisError)
# Failures that count against a provider's breaker; ``deadline`` and
# ``breaker_open`` do not (the module's docstring says why).
BREAKER_FAILURES = frozenset({"timeout", "error", "malformed"})
# The most answers a process keeps in memory (``ANSWERS``): at a few hundred
# bytes each, a few MB per worker.
ANSWERS_MAX = 10_000
# How long the workers' shared count of failures in a row lasts after its last
# failure: failures further apart than this say little of a service's health now.
SHARED_FAILURES_SECONDS = 60


def supply(
    providers: Sequence[type[Provider]], orders: Sequence[OrderFacts], *, deadline: float
) -> list[dict[str, Supplied]]:
    """Return, for each of *orders*, what each of *providers* supplied, by provider name.

    *deadline* is the most all of it may take, in seconds from now.
    """
    started = time.monotonic()
    until = started + deadline
    calls: dict[tuple[str, bytes], _Call] = {}
    rows: list[list[_Call]] = []
    for order in orders:
        row = []
        for provider in providers:
            body = _canonical(provider.inputs(order))
            call = calls.get((provider.name, body))
            if call is None:
                call = calls[provider.name, body] = _Call(provider, body)
            row.append(call)
        rows.append(row)
    answered = _from_cache(calls.values())
    if len(answered) < len(calls):
        missed = [call for call in calls.values() if call not in answered]
        fetched = _from_providers(missed, started, until)
        answered.update((call, fetched[call.key]) for call in missed)
    # Loops, not comprehensions: each is a call of its own on Python 3.11, and a
    # check whose answers this process holds spends most of its time here in calls.
    supplied: list[dict[str, Supplied]] = []
    for row in rows:
        records: dict[str, Supplied] = {}
        for call in row:
            records[call.provider.name] = answered[call]
        supplied.append(records)
    return supplied


# Canonical JSON: keys sorted, no spaces. One encoder for every call: ``json.dumps``
# with options makes a new one each time, a third of the encoding's cost.
_encode_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def _canonical(inputs: Mapping[str, Any]) -> bytes:
    """Return *inputs* as canonical JSON: the same inputs, the same bytes."""
    return _encode_canonical(inputs).encode()


class _Call:
    """One distinct call: a provider and the JSON it is sent, and its cache keys.

    ``local`` keys the answer in this process's memory (``ANSWERS``): the
    provider's name and version and the JSON itself, exact without a hash.
    ``key`` keys it in the shared cache, with a SHA-256 of the JSON (a key of
    bounded length): made only when first read, as a check whose answer this
    process holds never reads it.
    """

    __slots__ = ("_key", "body", "local", "provider", "started")

    def __init__(self, provider: type[Provider], body: bytes) -> None:
        """Keep *provider* and *body*, and key the call in this process's memory."""
        self.provider = provider
        self.body = body
        self.local: Hashable = (provider.name, provider.version, body)
        self._key: str | None = None
        # When the loop began the HTTP call (a float, written once by the loop's
        # thread); ``None`` while it is queued, or when it was never made.
        self.started: float | None = None

    @property
    def key(self) -> str:
        """Return the shared cache's key: provider, version, format and a hash of the body."""
        if self._key is None:
            digest = hashlib.sha256(self.body).hexdigest()
            self._key = f"{self.provider.name}:{self.provider.version}:{CACHE_FORMAT}:{digest}"
        return self._key


# --- The cache ----------------------------------------------------------------------


def _from_cache(calls: Iterable[_Call]) -> dict[_Call, Supplied]:
    """Return what the caches hold for *calls*, by call.

    This process's answers first; for the others, one ``get_many`` of the
    shared cache, whose answers this process then keeps until they expire.
    """
    cached: list[_Call] = []
    keys: list[Hashable] = []
    for call in calls:
        if call.provider.cache_ttl > 0:
            cached.append(call)
            keys.append(call.local)
    if not cached:
        return {}
    began = time.monotonic()
    local = ANSWERS.get_many(keys)
    found: list[tuple[_Call, Mapping[str, Any]]] = []
    for call in cached:
        values = local.get(call.local)
        if values is not None:
            found.append((call, values))
    answered = _hits(found, began)
    if len(answered) == len(cached):
        return answered
    missing = {call.key: call for call in cached if call not in answered}
    began = time.monotonic()
    found = _use_cache("get", lambda cache: cache.get_many(missing))
    if not found:
        return answered
    shared = []
    now = time.time()
    for key, (expires, values) in found.items():
        call = missing[key]
        left = min(expires - now, call.provider.cache_ttl)
        if left > 0:
            shared.append((call, ANSWERS.keep(call.local, values, left)))
    answered.update(_hits(shared, began))
    return answered


def _hits(found: Sequence[tuple[_Call, Mapping[str, Any]]], began: float) -> dict[_Call, Supplied]:
    """Return the records of the answers *found* for calls, by call, counted as hits."""
    latency_ms = (time.monotonic() - began) * 1000
    answered = {}
    for call, values in found:
        name = call.provider.name
        answered[call] = Supplied(name, values, latency_ms, cache_hit=True)
        metrics.count_provider_result(name, "cache_hit")
    return answered


def _keep(answers: Sequence[tuple[_Call, Mapping[str, Any]]]) -> None:
    """Keep providers' *answers* for their TTL: here, and shared (one ``set_many`` per TTL)."""
    by_ttl: dict[int, dict[str, tuple[float, Mapping[str, Any]]]] = defaultdict(dict)
    now = time.time()
    for call, values in answers:
        ttl = call.provider.cache_ttl
        if ttl > 0:
            ANSWERS.keep(call.local, values, ttl)
            by_ttl[ttl][call.key] = (now + ttl, values)
    for ttl, entries in by_ttl.items():
        _use_cache("set", lambda cache, entries=entries, ttl=ttl: cache.set_many(entries, ttl))


class Answers:
    """The answers this process keeps in memory, each until it expires; safe across threads.

    At most *size* answers: keeping one more drops the least recently used.
    """

    clock: ClassVar[Callable[[], float]] = time.monotonic

    def __init__(self, size: int) -> None:
        """Start with no answer."""
        self._size = size
        self._lock = threading.Lock()
        # Key -> (when it expires on ``clock``, its values), least recently used first.
        self._entries: OrderedDict[Hashable, tuple[float, Mapping[str, Any]]] = OrderedDict()

    def get_many(self, keys: Iterable[Hashable]) -> dict[Hashable, Mapping[str, Any]]:
        """Return the answers held for *keys* that have not expired, by key."""
        found = {}
        with self._lock:
            now = self.clock()
            for key in keys:
                entry = self._entries.get(key)
                if entry is None:
                    continue
                if entry[0] <= now:
                    del self._entries[key]
                    continue
                self._entries.move_to_end(key)
                found[key] = entry[1]
        return found

    def keep(self, key: Hashable, values: Mapping[str, Any], seconds: float) -> Mapping[str, Any]:
        """Hold *values* under *key* for *seconds*; return them, read-only, as they are held."""
        held = MappingProxyType(dict(values))
        with self._lock:
            self._entries[key] = (self.clock() + seconds, held)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return held

    def __len__(self) -> int:
        """Return how many answers are held, expired ones included until they are looked up."""
        return len(self._entries)

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._entries.clear()


ANSWERS = Answers(ANSWERS_MAX)


def _use_cache(operation: str, action: Callable[[BaseCache], T]) -> T | None:
    """Return what *action* returns on the providers' cache, or ``None`` when it failed.

    A failure is counted and logged, and never aborts the transaction the
    caller may be in (a savepoint). A Redis that failed is then left alone
    for the ``StoreBreaker`` period, as the throttles leave theirs: one that
    does not answer would cost each check its timeout twice. Each operation
    meanwhile is counted, not tried.
    """
    cache = caches[CACHE_ALIAS]
    redis = isinstance(cache, RedisCache)
    location = str(settings.CACHES[CACHE_ALIAS].get("LOCATION", ""))
    if redis and _cache_breaker.is_open(location):
        metrics.count_provider_cache_error(operation)
        return None
    try:
        with within_savepoint(cache):
            return action(cache)
    except CACHE_ERRORS as exc:
        metrics.count_provider_cache_error(operation)
        logger.warning(
            "provider cache unavailable",
            extra={"operation": operation, "error": f"{type(exc).__name__}: {exc}"},
        )
        if redis:
            _cache_breaker.trip(location)
    return None


# A Redis that failed, left alone a while (``_use_cache``).
_cache_breaker = StoreBreaker()


def reset_state() -> None:
    """Close every breaker, forget the answers kept in memory, use the shared cache again.

    Tests start here.
    """
    global _cache_breaker  # a new one is the simplest "forget everything"
    BREAKERS.reset()
    ANSWERS.clear()
    _cache_breaker = StoreBreaker()


# --- The calls ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How one call ended: its values, or why none (a reason), and when."""

    values: Mapping[str, Any] | None
    reason: str | None
    detail: str
    ended: float
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class _Request:
    """What every call of one ``supply`` shares: the time limit and the breakers' settings."""

    until: float
    semaphore: asyncio.Semaphore
    failures: int
    open_seconds: float


def _from_providers(calls: Sequence[_Call], started: float, until: float) -> dict[str, Supplied]:
    """Call the providers for *calls*, concurrently; return what each supplied, by key."""
    runtime = _runtime()
    counted = _read_shared_health({call.provider.name for call in calls})
    request = _Request(
        until=until,
        semaphore=asyncio.Semaphore(settings.PROVIDER_MAX_CONCURRENCY),
        failures=settings.PROVIDER_BREAKER_FAILURES,
        open_seconds=settings.PROVIDER_BREAKER_OPEN_SECONDS,
    )
    targets = {
        call.provider.name: _Target(call.provider.url(), call.provider.token()) for call in calls
    }
    futures = [
        asyncio.run_coroutine_threadsafe(
            _attempt(runtime.client, call, targets[call.provider.name], request), runtime.loop
        )
        for call in calls
    ]
    concurrent.futures.wait(futures, timeout=max(0.0, until - time.monotonic()))
    answered: dict[str, Supplied] = {}
    kept = []
    for call, future in zip(calls, futures, strict=True):
        if future.cancel():  # not done by the deadline: the loop's task is cancelled
            # Now, not when the loop gets to the cancellation: the next check may be the trial.
            BREAKERS.released(call.provider.name, call)
            now = time.monotonic()
            seconds = None if call.started is None else now - call.started
            outcome = _Outcome(None, "deadline", "the deadline passed", now, seconds)
        else:
            outcome = future.result()
        answered[call.key] = _supplied(call, outcome, started)
        if outcome.reason is None:
            kept.append((call, outcome.values))
    if kept:
        _keep(kept)
    _share_outcomes(calls, answered, request, counted)
    return answered


def _supplied(call: _Call, outcome: _Outcome, started: float) -> Supplied:
    """Return the record of *outcome*, counted, and logged when a call made failed."""
    provider = call.provider
    metrics.count_provider_result(provider.name, outcome.reason or "ok", seconds=outcome.seconds)
    latency_ms = (outcome.ended - started) * 1000
    if outcome.reason is None:
        return Supplied(provider.name, outcome.values, latency_ms)
    reference = None
    if outcome.seconds is not None:
        reference = uuid.uuid4().hex
        logger.warning(
            "provider call failed",
            extra={
                "provider": provider.name,
                "reason": outcome.reason,
                "error_id": reference,
                "error": outcome.detail,
                "latency_ms": round(outcome.seconds * 1000, 3),
            },
        )
    fallback = provider.fallback
    return Supplied(
        provider.name,
        None if fallback is None else dict(fallback),
        latency_ms,
        error=outcome.reason,
        fallback=fallback is not None,
        reference=reference,
    )


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a provider is called, read from settings by the request's thread."""

    url: str
    token: str


class _CallError(Exception):
    """A call that got no usable answer: *reason* (``error``, ``malformed``) and why."""

    def __init__(self, reason: str, detail: str) -> None:
        """Record the reason and a short, secret-free description."""
        super().__init__(detail)
        self.reason = reason


async def _attempt(
    client: httpx.AsyncClient, call: _Call, target: _Target, request: _Request
) -> _Outcome:
    """Make *call* if the deadline and its breaker let it, and say how it ended."""
    async with request.semaphore:
        left = request.until - time.monotonic()
        if left <= 0:
            return _Outcome(None, "deadline", "the deadline passed", time.monotonic())
        provider = call.provider
        if not BREAKERS.admit(provider.name, call):
            return _Outcome(None, "breaker_open", "the breaker is open", time.monotonic())
        budget = min(provider.timeout, left)
        call.started = began = time.monotonic()
        values: Mapping[str, Any] | None = None
        detail = ""
        try:
            values = await _post(client, provider, call.body, target, budget)
            reason = None
        except (TimeoutError, httpx.TimeoutException):
            reason = "timeout" if budget == provider.timeout else "deadline"
            detail = f"no answer within {budget * 1000:.0f} ms"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL: a bad setting
            reason, detail = "error", f"{type(exc).__name__}: {exc}"
        except _CallError as exc:
            reason, detail = exc.reason, str(exc)
        except asyncio.CancelledError:  # the request stopped waiting: its deadline passed
            BREAKERS.released(provider.name, call)
            raise
        if reason is None:
            BREAKERS.succeeded(provider.name)
        elif reason in BREAKER_FAILURES:
            BREAKERS.failed(
                provider.name, failures=request.failures, open_seconds=request.open_seconds
            )
        else:
            BREAKERS.released(provider.name, call)
        ended = time.monotonic()
        return _Outcome(values, reason, detail, ended, ended - began)


async def _post(
    client: httpx.AsyncClient,
    provider: type[Provider],
    body: bytes,
    target: _Target,
    budget: float,
) -> dict[str, Any]:
    """POST *body* to *target*; return the facts its answer holds, within *budget* seconds.

    Raises ``TimeoutError`` or ``httpx.HTTPError`` when no answer came, and
    ``_CallError`` for an answer that is not a success, too large or malformed.
    """
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        # The cap is on the bytes received: no compressed answer that inflates past it.
        "Accept-Encoding": "identity",
    }
    if target.token:
        headers["Authorization"] = f"Bearer {target.token}"
    async with (
        asyncio.timeout(budget),
        client.stream(
            "POST",
            target.url,
            content=body,
            headers=headers,
            timeout=httpx.Timeout(budget),
            follow_redirects=False,
        ) as response,
    ):
        if not response.is_success:
            raise _CallError("error", f"status {response.status_code}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > ANSWER_MAX_BYTES:
            raise _CallError("error", f"an answer of {declared} bytes")
        chunks = []
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > ANSWER_MAX_BYTES:
                raise _CallError("error", f"an answer over {ANSWER_MAX_BYTES} bytes")
            chunks.append(chunk)
    try:
        answer = json.loads(b"".join(chunks))
    except ValueError:
        raise _CallError("malformed", "the answer is not JSON") from None
    try:
        return provider.parse(answer)
    except MalformedAnswerError as exc:
        raise _CallError("malformed", str(exc)) from None


# --- The loop and the client, per process ----------------------------------------------


@dataclass(frozen=True, slots=True)
class _Runtime:
    """One process's event loop (in its own thread) and HTTP client."""

    pid: int
    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient


_runtime_lock = threading.Lock()
_current: _Runtime | None = None


def _runtime() -> _Runtime:
    """Return this process's loop and client, made on first use and again after a fork."""
    global _current  # one per process, made lazily
    current = _current
    pid = os.getpid()
    if current is not None and current.pid == pid:
        return current
    with _runtime_lock:
        if _current is None or _current.pid != pid:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="providers", daemon=True).start()
            client = asyncio.run_coroutine_threadsafe(_new_client(), loop).result()
            _current = _Runtime(pid, loop, client)
        return _current


def prepare_runtime() -> None:
    """Make this process's loop and client now, if a provider is configured; else nothing.

    gunicorn calls it in each worker before the worker serves (``post_worker_init``).
    Made on first use instead, they cost the first check needing a provider in each
    worker their making (httpx's transport modules imported, the CA certificates
    loaded: 100 to 250 ms on a busy machine), on top of the provider's timeout.
    """
    if any(provider.configured() for provider in PROVIDERS.values()):
        _runtime()


async def _new_client() -> httpx.AsyncClient:
    """Return the client every call shares, made in the loop that uses it."""
    # Never a redirect, and nothing from the environment (proxies, .netrc): a
    # provider is called at its settings' address, and only there.
    return httpx.AsyncClient(follow_redirects=False, trust_env=False)


# --- Circuit breakers -------------------------------------------------------------------


class BreakerState(Enum):
    """A breaker's state, valued as the gauge shows it."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass
class _Circuit:
    """One provider's breaker: its state, failures in a row, and the trial call out, if any."""

    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    retry_at: float = 0.0
    trial: object | None = None


class Breakers:
    """The circuit breakers of this process, one per provider; safe across threads.

    The module's docstring says how they open, half-open and close, and why
    per process is enough.
    """

    def __init__(self) -> None:
        """Start with every breaker closed."""
        self._lock = threading.Lock()
        self._circuits: dict[str, _Circuit] = {}

    def admit(self, provider: str, call: object) -> bool:
        """Return whether *call* to *provider* may go: once the period is over, as the trial."""
        with self._lock:
            circuit = self._circuits.get(provider)
            if circuit is None:  # the first call: the gauge shows it closed from now on
                circuit = self._circuits[provider] = _Circuit()
                metrics.set_provider_breaker_state(provider, BreakerState.CLOSED.value)
            if circuit.state is BreakerState.CLOSED:
                return True
            if circuit.state is BreakerState.OPEN and time.monotonic() >= circuit.retry_at:
                self._move(provider, circuit, BreakerState.HALF_OPEN)
            if circuit.state is BreakerState.HALF_OPEN and circuit.trial is None:
                circuit.trial = call
                return True
            return False

    def admits(self, provider: str) -> bool:
        """Return whether a call to *provider* would go now (``admit`` says for certain)."""
        with self._lock:
            circuit = self._circuits.get(provider)
            if circuit is None or circuit.state is BreakerState.CLOSED:
                return True
            if circuit.state is BreakerState.OPEN:
                return time.monotonic() >= circuit.retry_at
            return circuit.trial is None

    def recount(self, provider: str, failures: int) -> None:
        """Take *failures* as *provider*'s failures in a row, if its breaker is closed."""
        with self._lock:
            circuit = self._circuits.get(provider)
            if circuit is not None and circuit.state is BreakerState.CLOSED:
                circuit.failures = failures

    def adopt(self, provider: str, seconds: float) -> None:
        """Open *provider*'s breaker for *seconds*, as the other workers found it: failing."""
        with self._lock:
            circuit = self._circuits.setdefault(provider, _Circuit())
            circuit.trial = None
            circuit.retry_at = max(circuit.retry_at, time.monotonic() + seconds)
            if circuit.state is not BreakerState.OPEN:
                self._move(provider, circuit, BreakerState.OPEN, shared=True)

    def open_for(self, provider: str) -> float:
        """Return how many seconds *provider*'s breaker stays open; 0 when it is not open."""
        with self._lock:
            circuit = self._circuits.get(provider)
            if circuit is None or circuit.state is not BreakerState.OPEN:
                return 0.0
            return max(0.0, circuit.retry_at - time.monotonic())

    def succeeded(self, provider: str) -> None:
        """Close *provider*'s breaker: a call was answered."""
        with self._lock:
            circuit = self._circuits[provider]
            circuit.failures = 0
            circuit.trial = None
            if circuit.state is not BreakerState.CLOSED:
                self._move(provider, circuit, BreakerState.CLOSED)

    def failed(self, provider: str, *, failures: int, open_seconds: float) -> None:
        """Count a failed call; open the breaker at *failures* in a row, or on a failed trial."""
        with self._lock:
            circuit = self._circuits[provider]
            circuit.failures += 1
            if circuit.state is BreakerState.HALF_OPEN or (
                circuit.state is BreakerState.CLOSED and circuit.failures >= failures
            ):
                circuit.trial = None
                circuit.retry_at = time.monotonic() + open_seconds
                self._move(provider, circuit, BreakerState.OPEN)

    def released(self, provider: str, call: object) -> None:
        """Take *call* ended neither way (the deadline): if it was the trial, the next call is.

        Safe to repeat, and for a call never admitted.
        """
        with self._lock:
            circuit = self._circuits.get(provider)
            if circuit is not None and circuit.trial is call:
                circuit.trial = None

    def state(self, provider: str) -> BreakerState:
        """Return the state of *provider*'s breaker."""
        with self._lock:
            return self._circuits.get(provider, _Circuit()).state

    def reset(self) -> None:
        """Close every breaker and forget its failures (tests start from here)."""
        with self._lock:
            for provider in self._circuits:
                metrics.set_provider_breaker_state(provider, BreakerState.CLOSED.value)
            self._circuits.clear()

    def _move(
        self, provider: str, circuit: _Circuit, state: BreakerState, *, shared: bool = False
    ) -> None:
        """Put *circuit* in *state*; show it, and log an opening or a closing.

        *shared*: an opening the workers' shared count or another worker decided.
        """
        circuit.state = state
        metrics.set_provider_breaker_state(provider, state.value)
        if state is BreakerState.OPEN:
            logger.warning(
                "provider breaker opened",
                extra={"provider": provider, "failures": circuit.failures, "shared": shared},
            )
        elif state is BreakerState.CLOSED:
            logger.info("provider breaker closed", extra={"provider": provider})


BREAKERS = Breakers()


# --- What the breakers share, through the providers' cache ------------------------------


def _shared_key(provider: str, what: str) -> str:
    """Return the cache key of *provider*'s shared breaker state *what* (``open``, ``failures``).

    Three parts, where an answer's key has four: the two never meet.
    """
    return f"breaker:{provider}:{what}"


def _read_shared_health(providers: set[str]) -> set[str]:
    """Open here the breakers of *providers* that the workers' shared state has open.

    Read (one ``get_many``) only for the breakers that would let a call go:
    a call about to be made, never a cached or refused one. Each of those
    takes the workers' count of failures in a row as its own. Return the
    providers whose count is not 0, for a success to clear.
    """
    admitting = [provider for provider in sorted(providers) if BREAKERS.admits(provider)]
    if not admitting:
        return set()
    keys = {
        _shared_key(provider, what): (provider, what)
        for provider in admitting
        for what in ("open", "failures")
    }
    found = _use_cache("get", lambda cache: cache.get_many(keys))
    if found is None:  # no shared state: each worker counts its own
        return set()
    now = time.time()
    counted = set()
    for provider in admitting:
        failures = found.get(_shared_key(provider, "failures"), 0)
        BREAKERS.recount(provider, failures)
        if failures:
            counted.add(provider)
        until = found.get(_shared_key(provider, "open"), 0.0)
        if until > now:
            BREAKERS.adopt(provider, until - now)
    return counted


def _share_outcomes(
    calls: Sequence[_Call], answered: Mapping[str, Supplied], request: _Request, counted: set[str]
) -> None:
    """Tell the other workers what *calls* showed of each provider's health.

    A provider whose failures were *counted* and that answered now clears
    them; one whose calls failed adds them to the shared count. When that
    count reaches the limit, the breaker opens here too; a breaker open here
    is shared until it would close.
    """
    failed: dict[str, int] = defaultdict(int)
    answering: set[str] = set()
    for call in calls:
        reason = answered[call.key].error
        if reason is None:
            answering.add(call.provider.name)
        elif reason in BREAKER_FAILURES:
            failed[call.provider.name] += 1
    for provider in sorted(answering & counted):
        keys = [_shared_key(provider, "failures"), _shared_key(provider, "open")]
        _use_cache("set", lambda cache, keys=keys: cache.delete_many(keys))
    for provider, count in sorted(failed.items()):
        if provider in answering:
            continue
        key = _shared_key(provider, "failures")
        total = _use_cache("set", lambda cache, key=key, count=count: _add(cache, key, count))
        if total is not None and total >= request.failures:
            BREAKERS.adopt(provider, request.open_seconds)
        left = BREAKERS.open_for(provider)
        if left > 0:
            key = _shared_key(provider, "open")
            until = time.time() + left
            _use_cache(
                "set",
                lambda cache, key=key, until=until, left=left: cache.set(
                    key, until, math.ceil(left)
                ),
            )


def _add(cache: BaseCache, key: str, count: int) -> int:
    """Add *count* to the failures under *key*, kept ``SHARED_FAILURES_SECONDS``; return them.

    A read and a write, not atomic: two workers failing at once may count one
    failure, which opens the breaker a call later, never sooner.
    """
    total = int(cache.get(key, 0)) + count
    cache.set(key, total, SHARED_FAILURES_SECONDS)
    return total
