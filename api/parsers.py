"""The API's JSON parser: standard JSON only, and no crash on deep nesting."""

import codecs
import json
import re
from functools import lru_cache
from typing import IO, Any

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError, UnsupportedMediaType, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.validators import ProhibitSurrogateCharactersValidator

# The encodings JSON comes in, by Python's name for them: UTF-8 (RFC 8259),
# and UTF-16 and UTF-32, which the RFCs before it allowed.
JSON_ENCODINGS = frozenset(
    {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}
)
# A text these decoders accept holds no NUL or lone surrogate but through a
# JSON escape: one that may make either sends the parsed body to be searched.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")


class StrictJSONParser(JSONParser):
    """Parse a JSON body, answering a 400 for anything Python's parser refuses.

    Bodies nested too deeply for Python's parser raise ``RecursionError``,
    which DRF's own parser lets escape as a 500; the non-standard constants
    ``NaN`` and ``Infinity`` are refused. A ``charset`` other than UTF-8,
    UTF-16 or UTF-32 is a 415, one Python does not know included (Django
    would quietly read the body as UTF-8). No string of the body, object
    keys included, may hold a NUL character or a lone surrogate: that is a
    400 ``invalid_request`` at its place, as DRF's string fields answer it.
    The body's size has already been checked against
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` by Django when DRF reads it.
    """

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        """Return the parsed body of *stream*."""
        encoding = _encoding(media_type)
        try:
            text = stream.read().decode(encoding)
            data = json.loads(text, parse_constant=_reject_constant)
        except UnicodeDecodeError:
            raise ParseError(f"Request body is not valid {encoding}.") from None
        except RecursionError:
            raise ParseError("JSON is nested too deeply.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if _SUSPECT_ESCAPE.search(text):
            _refuse_forbidden_strings(data)
        return data


@lru_cache(maxsize=64)
def _encoding(media_type: str | None) -> str:
    """Return the encoding *media_type*'s ``charset`` names, UTF-8 if none.

    Raises ``UnsupportedMediaType`` for any encoding JSON does not come in.
    Kept by header: parsing one costs about 10 us, and clients send few.
    """
    _, params = parse_header_parameters(media_type or "")
    charset = params.get("charset")
    if charset is None:
        return settings.DEFAULT_CHARSET
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        name = None
    if name not in JSON_ENCODINGS:
        raise UnsupportedMediaType(
            media_type, f'Unsupported charset "{charset}": send JSON in UTF-8 (or UTF-16, UTF-32).'
        )
    return name


def _refuse_forbidden_strings(data: Any) -> None:
    """Raise a ``ValidationError`` at the first string of *data* with a NUL or a lone surrogate.

    Walks with a stack of its own: the body may be nested as deep as the
    parser allows. An object key is reported at its object's place, never
    echoed; the keys of the path there have been checked already.
    """
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                _check_string(key, path)
                stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend((value, (*path, str(index))) for index, value in enumerate(node))
        elif isinstance(node, str):
            _check_string(node, path)


def _check_string(text: str, path: tuple[str, ...]) -> None:
    """Raise a ``ValidationError`` at *path* if *text* holds a NUL or a lone surrogate."""
    found = _FORBIDDEN.search(text)
    if found is None:
        return
    char = found.group()
    if char == "\x00":
        message = str(ProhibitNullCharactersValidator.message)
    else:
        message = str(ProhibitSurrogateCharactersValidator.message).format(code_point=ord(char))
    detail: Any = [message]
    for name in reversed(path or ("non_field_errors",)):
        detail = {name: detail}
    raise ValidationError(detail)


def _reject_constant(name: str) -> Any:
    """Refuse ``NaN``, ``Infinity`` and ``-Infinity``, which JSON does not define."""
    raise ValueError(f"{name} is not valid JSON")
