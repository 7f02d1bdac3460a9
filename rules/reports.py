"""Writing a report as it streams: a row per order, as JSON lines or CSV.

The columns are named once, first: in JSON lines a header record
``{"columns": ["order_id", <rule keys>..., "passed"]}`` and then an array
per order (``[17,true,false,true]``, ``null`` for a rule that errs on the
order); in CSV a header row, and an empty cell for an error. A report that
cannot finish — it ran past ``REPORT_MAX_SECONDS`` or ``REPORT_MAX_BYTES``,
or the database failed while it streamed — ends with a final error record,
never a body that looks complete: in JSON lines an object with ``error``,
``code`` and ``request_id``; in CSV a last line starting with ``#``. The
rows and bytes handed to the server, and the reasons a report was cut
short, are counted (``api.metrics``).
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

JSON_LINES = "application/x-ndjson"
CSV = "text/csv; charset=utf-8"
# A verdict as the report writes it; the driver gives True/False or 1/0, and
# None (NULL) for a rule that errs on the order.
_CELLS: dict[str, dict[bool | None, str]] = {
    JSON_LINES: {True: "true", False: "false", None: "null"},
    CSV: {True: "true", False: "false", None: ""},
}


def largest_size(header: list[str], *, content_type: str, rows: int, last_id: int) -> int:
    """Return the most bytes a report of *rows* rows, with ids up to *last_id*, can take.

    That is its header and *rows* times its longest row: the largest id,
    every verdict ``false`` (the longest). The final error record, if any,
    comes on top.
    """
    head, line = _layout(header, content_type)
    longest = line % (last_id, *["false"] * (len(header) - 1))
    return len(head.encode()) + rows * len(longest)


def report_lines(
    header: list[str],
    batches: Iterable[list[tuple[Any, ...]]],
    *,
    content_type: str,
    seconds: float,
    max_bytes: int,
    request_id: str | None,
) -> Iterator[bytes]:
    """Yield the report in *content_type*: the header, then a chunk of lines per batch.

    Each line fills a template of the row's values, an id and booleans, so
    no per-row ``json.dumps`` or CSV writer is needed. Text is encoded here,
    once, so that its bytes are counted as they go. A chunk that would take
    the report past *max_bytes* is not sent: the error record is.
    """
    head, line = _layout(header, content_type)
    cells = _CELLS[content_type]
    first = _counted(head, rows=0)
    yield first
    deadline = time.monotonic() + seconds
    size, rows = len(first), 0
    try:
        for batch in batches:
            text = "".join(
                [line % (pk, *[cells[verdict] for verdict in verdicts]) for pk, *verdicts in batch]
            )
            # The lines hold digits, brackets, commas and true/false/null: a byte each.
            if size + len(text) > max_bytes:
                logger.error(
                    "report cut short",
                    extra={"reason": "bytes", "rows": rows, "max_bytes": max_bytes},
                )
                count_budget_refusal("report_too_large")
                yield _error_record(
                    content_type, "Report too large", "report_too_large", request_id
                )
                return
            size += len(text)
            rows += len(batch)
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


def _layout(header: list[str], content_type: str) -> tuple[str, str]:
    """Return the report's header, as its first line, and the template of its rows."""
    template = ",".join(["%d"] + ["%s"] * (len(header) - 1))
    if content_type == CSV:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(header)
        return buffer.getvalue(), template + "\n"
    return json.dumps({"columns": header}) + "\n", "[" + template + "]\n"


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
