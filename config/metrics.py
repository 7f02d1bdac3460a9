"""``GET /metrics``: the whole server in Prometheus's text format, for allowed callers only.

A caller may read the metrics when its address is in ``METRICS_ALLOWED_IPS``
(loopback by default) or when it sends ``Authorization: Bearer
<METRICS_TOKEN>``. Its address is the client's, as the API reads it
(``NUM_PROXIES``): behind nginx on the same machine every request comes from
the loopback, and must not count as a scrape from there. The endpoint is
answered by a middleware placed before every other: Prometheus asks each
replica by its address, which is not in ``ALLOWED_HOSTS`` and needs no HTTPS
redirect, and scrapes are neither logged nor counted. Any other caller goes
on through the stack and gets what an unknown path gets: the JSON 404.

Under gunicorn (``PROMETHEUS_MULTIPROC_DIR``, set by ``gunicorn.conf.py``)
the answer adds up what every worker counted, workers that have exited
included, and gives the library's process metrics for the master and each
live worker, by ``pid``. Outside gunicorn it is the process's own registry.
Either way the database's gauges are read at the scrape, by the process
that answers it (``DatabaseCollector``).
"""

import contextlib
import hmac
import ipaddress
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from api.auth import client_address
from config.health import database_folder, sqlite_file_missing
from decisions.selectors import decision_log_size

PATH = "/metrics"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class MetricsEndpointMiddleware:
    """Answer ``GET /metrics`` for an allowed caller; pass every other request on.

    Not used at all while ``METRICS_ENABLED`` is off.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        """Wrap the rest of the chain and read who may scrape.

        Raises ``ImproperlyConfigured`` for an entry of ``METRICS_ALLOWED_IPS``
        that is neither an address nor a network, so a worker fails to boot.
        """
        if not settings.METRICS_ENABLED:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.networks = allowed_networks(settings.METRICS_ALLOWED_IPS)
        self.token = settings.METRICS_TOKEN.encode()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Serve the metrics to an allowed GET of ``/metrics``; else go on."""
        if request.path_info != PATH or request.method != "GET" or not self.allowed(request):
            return self.get_response(request)
        body, content_type = exposition(request.headers.get("Accept", ""))
        return HttpResponse(body, content_type=content_type)

    def allowed(self, request: HttpRequest) -> bool:
        """Return whether the caller sent the token, or calls from an allowed address."""
        if self.token:
            scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                credentials.strip().encode(), self.token
            ):
                return True
        try:
            address = ipaddress.ip_address(client_address(request))
        except ValueError:
            return False
        # An IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d.
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


def allowed_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Return *entries*, addresses or networks (``10.0.0.0/8``), as networks.

    Raises ``ImproperlyConfigured`` naming an entry that is neither.
    """
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
    except ValueError as error:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {error}") from None


def exposition(accept: str) -> tuple[bytes, str]:
    """Return every metric of this server and its content type, in the format *accept* asks."""
    encode, content_type = choose_encoder(accept)
    registry = CollectorRegistry()
    directory = settings.METRICS_MULTIPROC_DIR
    if directory:
        MultiProcessCollector(registry, path=directory)
        registry.register(ServerProcessCollector())
    else:
        registry.register(REGISTRY)
    registry.register(DatabaseCollector())
    return encode(registry), content_type


class DatabaseCollector:
    """Gauges of the database's room, read at each scrape: a statfs and one small query.

    The free space of the SQLite file's volume and its floor
    (``DISK_FREE_MIN_BYTES``, below which readiness answers 503
    ``disk_low``), and the bytes the decision log takes. A gauge that cannot
    be read has no sample, only its name: PostgreSQL's volume is the
    database server's, and a database that does not answer is counted by
    the answers it fails.
    """

    def collect(self) -> Iterable[Metric]:
        """Return the three gauges, each with its sample when it can be read."""
        free = GaugeMetricFamily(
            "rule_engine_database_volume_free_bytes",
            "Bytes free on the SQLite database file's volume (none on PostgreSQL).",
        )
        floor = GaugeMetricFamily(
            "rule_engine_database_volume_free_min_bytes",
            "DISK_FREE_MIN_BYTES: below it readiness answers 503 disk_low (none on PostgreSQL).",
        )
        size = GaugeMetricFamily(
            "rule_engine_decision_log_bytes",
            "Bytes the decision log takes: on PostgreSQL its table with indexes and TOAST, "
            "on SQLite the whole database file.",
        )
        folder = database_folder()
        if folder is not None and folder.is_dir():
            free.add_metric([], shutil.disk_usage(folder).free)
            floor.add_metric([], settings.DISK_FREE_MIN_BYTES)
        # Opening a missing SQLite file would create an empty one.
        if not sqlite_file_missing():
            with contextlib.suppress(DatabaseError):
                size.add_metric([], decision_log_size())
        return [free, floor, size]


class ServerProcessCollector:
    """The library's process metrics (CPU, memory, open fds) for each gunicorn process.

    Collected in a worker: the master is its parent and the workers are the
    master's children. Each process is one series, labelled with its ``pid``
    (as prometheus-client labels per-process gauges in multiprocess mode), so
    a worker that restarts starts a new counter instead of lowering a sum.
    """

    def collect(self) -> Iterable[Metric]:
        """Return one family per process metric, with a sample per process."""
        families: dict[str, Metric] = {}
        for pid in _server_pids():
            for family in ProcessCollector(pid=lambda pid=pid: pid, registry=None).collect():
                if family.name not in families:
                    kind = CounterMetricFamily if family.type == "counter" else GaugeMetricFamily
                    families[family.name] = kind(family.name, family.documentation, labels=["pid"])
                for sample in family.samples:
                    families[family.name].add_metric([str(pid)], sample.value)
        return families.values()


def _server_pids() -> list[int]:
    """Return the pids of the gunicorn master and of its workers, this one at least."""
    master = os.getppid()
    try:
        workers = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:  # a kernel that does not list children
        workers = [str(os.getpid())]
    return [master, *(int(pid) for pid in workers)]
