"""Graceful shutdown: a gunicorn worker that drains its queue, and the flag readiness reads.

When gunicorn gets SIGTERM, its master closes the listening socket and tells
each sync worker to stop after its current request. Connections that the
kernel had already accepted into the listen backlog, but no worker had yet
picked up, are then reset: clients see errors for requests they sent before
the shutdown began. ``DrainingSyncWorker`` instead keeps serving until its
backlog is empty (or ``SHUTDOWN_DRAIN_SECONDS`` have passed), and marks the
process as shutting down so that the readiness check answers 503 and a load
balancer stops sending new traffic meanwhile.
"""

import os
import signal
import threading
from types import FrameType

from gunicorn.workers.sync import SyncWorker

_shutting_down = threading.Event()


def begin_shutdown() -> None:
    """Record that this process has started shutting down."""
    _shutting_down.set()


def is_shutting_down() -> bool:
    """Return whether this process has started shutting down."""
    return _shutting_down.is_set()


def drain_seconds() -> float:
    """Return the longest time a worker keeps serving queued requests after SIGTERM."""
    return float(os.environ.get("SHUTDOWN_DRAIN_SECONDS", "5"))


class DrainingSyncWorker(SyncWorker):
    """A sync worker that serves every queued connection before it exits on SIGTERM.

    It stops as soon as nothing is waiting to be accepted, or once the drain
    period ends, whichever comes first; the master's ``graceful_timeout``
    stays the hard limit.
    """

    draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Start draining: fail readiness, and stop for good when the period ends."""
        if self.draining:
            return
        begin_shutdown()
        self.draining = True
        signal.signal(signal.SIGALRM, super().handle_exit)
        # Let a request in progress carry on through the alarm.
        signal.siginterrupt(signal.SIGALRM, False)
        signal.setitimer(signal.ITIMER_REAL, max(drain_seconds(), 0.001))

    def wait(self, timeout: float) -> list[object] | None:
        """Wait for connections, or stop once a draining worker's backlog is empty.

        The sync worker calls ``wait`` only when ``accept`` found nothing
        queued, so a draining worker has then served every connection it had.
        """
        if self.draining:
            self.alive = False
            return None
        return super().wait(timeout)
