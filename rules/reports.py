"""Writing a report as it streams: a row per order, as JSON lines or CSV.

A report that cannot finish — it ran past ``REPORT_MAX_SECONDS``, or the
database failed while it streamed — ends with a final error record, never a
body that looks complete: in JSON lines an object with ``error``, ``code``
and ``request_id``; in CSV a last line starting with ``#``. The rows and
bytes handed to the server, and the reasons a report was cut short, are
counted (``api.metrics``).
"""

import csv
import io
import json
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import DatabaseError

from api.errors import is_query_timeout
from api.metrics import count_budget_refusal, count_database_unavailable, count_report_streamed

logger = logging.getLogger(__name__)

# A verdict as the report writes it; the driver gives True/False or 1/0.
_TRUE_FALSE = ("false", "true")
JSON_LINES = "application/x-ndjson"
CSV = "text/csv; charset=utf-8"


def report_lines(
    header: list[str],
    batches: Iterable[list[tuple[Any, ...]]],
    *,
    content_type: str,
    seconds: float,
    request_id: str | None,
) -> Iterator[bytes]:
    """Yield the report in *content_type*: the header (CSV), then a chunk of lines per batch.

    Each line fills a template whose keys were escaped once: the values are
    an id and booleans, so no per-row ``json.dumps`` or CSV writer is needed.
    Text is encoded here, once, so that its bytes are counted as they go.
    """
    if content_type == CSV:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(header)
        yield _counted(buffer.getvalue(), rows=0)
        line = ",".join(["%d"] + ["%s"] * (len(header) - 1)) + "\n"
    else:
        keys = [json.dumps(key).replace("%", "%%") for key in header]
        line = "{" + f"{keys[0]}: %d, " + ", ".join(f"{key}: %s" for key in keys[1:]) + "}\n"
    deadline = time.monotonic() + seconds
    rows = 0
    try:
        for batch in batches:
            rows += len(batch)
            text = "".join(
                [
                    line % (pk, *[_TRUE_FALSE[verdict] for verdict in verdicts])
                    for pk, *verdicts in batch
                ]
            )
            yield _counted(text, rows=len(batch))
            if time.monotonic() > deadline:
                logger.error(
                    "report cut short", extra={"reason": "time", "rows": rows, "seconds": seconds}
                )
                count_budget_refusal("report_timeout")
                yield _error_record(content_type, "Report cut short", "report_timeout", request_id)
                return
    except DatabaseError as exc:
        logger.exception("report cut short", extra={"reason": "database", "rows": rows})
        if is_query_timeout(exc):
            code = "query_timeout"
            count_budget_refusal(code)
        else:
            code = "database_unavailable"
            count_database_unavailable()
        yield _error_record(content_type, "Service Unavailable", code, request_id)


def _counted(text: str, *, rows: int) -> bytes:
    """Return *text* encoded, having counted it and the *rows* it holds as streamed."""
    data = text.encode()
    count_report_streamed(rows=rows, size=len(data))
    return data


def _error_record(content_type: str, error: str, code: str, request_id: str | None) -> bytes:
    """Return the last record of a report that could not finish."""
    if content_type == CSV:
        return _counted(f"# error: {error}; code: {code}; request_id: {request_id}\n", rows=0)
    return _counted(
        json.dumps({"error": error, "code": code, "request_id": request_id}) + "\n", rows=0
    )
