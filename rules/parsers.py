"""The API's JSON parser, with the request size limit applied to its stream."""

import json
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from rules.exceptions import RequestTooLargeError


class BoundedJSONParser(JSONParser):
    """Parse a JSON body of at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes.

    DRF reads the request stream itself, past Django's own size check, so the
    limit is applied here. Bodies too deeply nested for Python's parser, and
    the non-standard constants ``NaN`` and ``Infinity``, are a 400.
    """

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        """Return the parsed body of *stream*."""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLargeError(f"Request body is larger than {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(body.decode(encoding), parse_constant=_reject_constant)
        except UnicodeDecodeError:
            raise ParseError(f"Request body is not valid {encoding}.") from None
        except RecursionError:
            raise ParseError("JSON is nested too deeply.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def _reject_constant(name: str) -> Any:
    """Refuse ``NaN``, ``Infinity`` and ``-Infinity``, which JSON does not define."""
    raise ValueError(f"{name} is not valid JSON")
