"""The API's JSON parser: standard JSON only, and no crash on deep nesting."""

import json
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    """Parse a JSON body, answering a 400 for anything Python's parser refuses.

    Bodies nested too deeply for Python's parser raise ``RecursionError``,
    which DRF's own parser lets escape as a 500; the non-standard constants
    ``NaN`` and ``Infinity`` are refused. The body's size has already been
    checked against ``DATA_UPLOAD_MAX_MEMORY_SIZE`` by Django when DRF reads it.
    """

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        """Return the parsed body of *stream*."""
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(stream.read().decode(encoding), parse_constant=_reject_constant)
        except UnicodeDecodeError:
            raise ParseError(f"Request body is not valid {encoding}.") from None
        except RecursionError:
            raise ParseError("JSON is nested too deeply.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def _reject_constant(name: str) -> Any:
    """Refuse ``NaN``, ``Infinity`` and ``-Infinity``, which JSON does not define."""
    raise ValueError(f"{name} is not valid JSON")
