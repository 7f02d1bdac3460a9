"""Time a check whose provider the cache answers against the check without it, in process.

Run ``.venv/bin/python bench/cached_check.py`` (``--profile "one rule"`` for
cProfile's split). The in-process counterpart of part 1 of ``bench/providers.py``: it
prepares a site as ``bench/layers.py`` does (production settings, ``DEBUG``
off, ``LOG_LEVEL=INFO``, the JSON log lines written to ``/dev/null``, the
decision log on, throttling off, the metrics counted in files as under
gunicorn), points ``RISK_SERVICE_URL`` at a stand-in
risk service on 127.0.0.1, warms the cache, and calls the WSGI application
as a gunicorn worker does with the seeded orders in turn. Each round times
``--requests`` checks of each side in turn (the next round in the reverse
order) in CPU time of this process: ``min_total_100`` alone (the baseline of
issue 18); with ``risk_score_at_most(score=70)`` besides, whose score the
first-level cache answers; and, to tell the provider path from the second
rule, with ``total_at_most`` besides (a rule of the same shape reading the
order). It prints each side's microseconds per check and the ratios within
each round (one rule's CPU over the cached check's is the figure the target
of 0.90 reads); with ``--profile SIDE``, the functions whose time under
cProfile differs most between the cached check and SIDE.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.check_throughput import round_order
from bench.layers import check_environ, setup_django
from bench.spread import Spread, repeats
from rules.risk_service import RiskService

ORDER_IDS = (1, 2, 3)
SIDES: dict[str, tuple[object, ...]] = {
    "one rule": ("min_total_100",),
    "cached": ("min_total_100", {"name": "risk_score_at_most", "params": {"score": 70}}),
    # Not a baseline of the issue: the cached check's second rule swapped for one of the
    # same shape that reads a fact of the order, to tell the provider path from the rule.
    "2 rules": ("min_total_100", {"name": "total_at_most", "params": {"amount": "1000.00"}}),
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="checks per round and side")
    parser.add_argument("--warmup", type=int, default=300, help="untimed checks per side first")
    parser.add_argument("--rounds", type=repeats, default=6, help="rounds, at least 3 (default 6)")
    parser.add_argument(
        "--profile",
        choices=[name for name in SIDES if name != "cached"],
        help="profile the cached check and this side, and show where they differ",
    )
    return parser.parse_args(argv)


def environs(rules: Sequence[object], count: int) -> Iterator[dict[str, Any]]:
    """Yield *count* WSGI environs checking the seeded orders in turn with *rules*."""
    for index in range(count):
        body = {"order_id": ORDER_IDS[index % len(ORDER_IDS)], "rules": list(rules)}
        yield check_environ(json.dumps(body).encode())


def serve(
    application: Callable[..., Iterable[bytes]], rules: Sequence[object], count: int
) -> float:
    """Serve *count* checks with *rules*; return this process's CPU seconds per check.

    Raises ``RuntimeError`` for an answer other than 200 or a risk rule not answered.
    """
    requests = list(environs(rules, count))
    replies: list[bytes] = []
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        statuses.append(status)

    started = time.process_time()
    for environ in requests:
        response = application(environ, start_response)
        replies.append(b"".join(response))
        response.close()  # type: ignore[attr-defined]
    elapsed = time.process_time() - started
    for status, body in zip(statuses, replies, strict=True):
        results = json.loads(body)["results"] if status.startswith("200") else []
        if not results or any(r["outcome"] not in ("passed", "failed") for r in results):
            raise RuntimeError(f"{status}: {body[:300]!r}")
    return elapsed / count


def profiled(
    application: Callable[..., Iterable[bytes]], rules: Sequence[object], count: int
) -> Any:
    """Return cProfile's raw stats of *count* checks with *rules*."""
    profiler = cProfile.Profile()
    profiler.enable()
    serve(application, rules, count)
    profiler.disable()
    profiler.create_stats()
    return profiler.stats  # type: ignore[attr-defined]


def profile(application: Callable[..., Iterable[bytes]], count: int, against: str) -> str:
    """Return the functions whose time differs most between the sides under cProfile.

    By own and by cumulative time, in microseconds per check: what the cached
    check spends that the side *against* does not, and each side's calls.
    """
    sides = {name: profiled(application, rules, count) for name, rules in SIDES.items()}
    base, cached = sides[against], sides["cached"]
    rows = []
    for column, title in ((2, "own"), (3, "cumulative")):
        differences = []
        for function in set(base) | set(cached):
            ours = cached.get(function, (0, 0, 0.0, 0.0))
            theirs = base.get(function, (0, 0, 0.0, 0.0))
            calls = (ours[1] - theirs[1]) / count
            differences.append(((ours[column] - theirs[column]) / count * 1e6, calls, function))
        differences.sort(key=lambda row: row[:2], reverse=True)
        rows.append(f"cached - {against}, by {title} time: us/check, calls/check, function")
        for us, calls, (filename, line, name) in differences[:40]:
            rows.append(f"  {us:8.1f} {calls:6.1f}  {Path(filename).name}:{line}({name})")
    total = {
        name: sum(entry[2] for entry in stats.values()) / count * 1e6
        for name, stats in sides.items()
    }
    rows.append("profiled us/check: " + ", ".join(f"{n} {us:.0f}" for n, us in total.items()))
    per_check = {
        name: sum(entry[1] for entry in stats.values()) / count for name, stats in sides.items()
    }
    rows.append("calls/check: " + ", ".join(f"{n} {c:.0f}" for n, c in per_check.items()))
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Time both sides in alternating rounds and write their figures."""
    args = parse_args(argv)
    risk = RiskService().start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cached-") as tmp:
            metrics = Path(tmp) / "metrics"
            metrics.mkdir()
            os.environ.update(
                {
                    # Counted in files, as gunicorn's workers count (gunicorn.conf.py).
                    "PROMETHEUS_MULTIPROC_DIR": str(metrics),
                    "RISK_SERVICE_URL": risk.url,
                    "DECISION_LOG": "all",
                    "THROTTLE_CHECK": "off",
                    "THROTTLE_ANALYZE": "off",
                }
            )
            application = setup_django(Path(tmp))
            for rules in SIDES.values():
                serve(application, rules, args.warmup)
            asked = len(risk.received)
            rounds: list[dict[str, float]] = []
            for index in range(args.rounds):
                rounds.append(
                    {
                        name: serve(application, SIDES[name], args.requests)
                        for name in round_order(tuple(SIDES), index)
                    }
                )
            calls = len(risk.received) - asked
            profiled = profile(application, args.requests, args.profile) if args.profile else ""
    finally:
        risk.stop()
    rows = [f"{args.rounds} rounds of {args.requests} checks per side, CPU us per check:"]
    for name in SIDES:
        rows.append(f"  {name:<10} {Spread.of(r[name] * 1e6 for r in rounds).format('.0f')}")
    for base in ("one rule", "2 rules"):
        ratio = Spread.of(r[base] / r["cached"] for r in rounds)
        rows.append(f"  {base}/cached CPU: {ratio.format()}")
    rows.append(f"  the risk service was called {calls} times while timing")
    sys.stdout.write("\n".join(rows) + "\n" + profiled)
    return 1 if calls else 0


if __name__ == "__main__":
    sys.exit(main())
