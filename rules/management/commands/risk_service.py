"""``manage.py risk_service``: the stand-in risk service, in the foreground, for the demo."""

import signal
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand

from rules.risk_service import DEFAULT_PORT, DEFAULT_SCORE, RiskService

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def score(text: str) -> int:
    """Return *text* as a score: a whole number from 0 to 100."""
    if not text.isdigit() or int(text) > 100:
        raise ArgumentTypeError(f"a score is a whole number from 0 to 100, not {text!r}")
    return int(text)


def customer_score(text: str) -> tuple[str, int]:
    """Return ``("C-1", 85)`` for ``C-1=85``."""
    customer, sign, value = text.partition("=")
    if not sign or not customer:
        raise ArgumentTypeError(f"expected CUSTOMER=SCORE, not {text!r}")
    return customer, score(value)


class Command(BaseCommand):
    """Serve risk scores on 127.0.0.1 until interrupted."""

    help = (
        "Serve the stand-in risk service on http://127.0.0.1:PORT/score: a POST of an "
        'order\'s facts answers {"score": N}, N by its customer.id (--score C-1=85) or '
        "--default-score. Point RISK_SERVICE_URL at it."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the port, the scores, the latency and the token."""
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Port to listen on.")
        parser.add_argument(
            "--score",
            type=customer_score,
            action="append",
            default=[],
            metavar="CUSTOMER=SCORE",
            help="The score of one customer id (repeatable): --score C-1=85.",
        )
        parser.add_argument(
            "--default-score",
            type=score,
            default=DEFAULT_SCORE,
            metavar="SCORE",
            help=f"The score of any other customer (default {DEFAULT_SCORE}).",
        )
        parser.add_argument(
            "--latency-ms", type=float, default=0.0, help="Delay every answer this long."
        )
        parser.add_argument(
            "--token", default="", help="Answer 401 unless sent Authorization: Bearer TOKEN."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Serve until Ctrl-C (SIGINT) or SIGTERM.

        The signals are blocked and awaited (``sigwait``), not raised as
        ``KeyboardInterrupt`` wherever the serving code happens to be (once,
        under load, such a stop never finished): the service stops from here,
        at a known point.
        """
        service = RiskService(
            scores=dict(options["score"]),
            default_score=options["default_score"],
            port=options["port"],
            latency_ms=options["latency_ms"],
            token=options["token"],
        )
        # Blocked before the serving threads start: they inherit the mask.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        service.start()
        self.stdout.write(f"Risk service listening on {service.url} (Ctrl-C stops it)")
        try:
            signal.sigwait(STOP_SIGNALS)
        finally:
            service.stop()
        self.stdout.write("Risk service stopped")
