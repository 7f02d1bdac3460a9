"""Content negotiation for endpoints whose format is fixed or chosen by the view."""

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class JSONOnlyNegotiation(BaseContentNegotiation):
    """Answer with the view's first renderer whatever the ``Accept`` header says.

    ``/swagger.json`` is JSON by its name, so a plain ``curl`` or a browser
    asking for HTML gets JSON, not YAML or a 406; the report streams CSV or
    JSON lines by ``Accept`` itself, and its errors are JSON.
    """

    def select_parser(self, request: Request, parsers: list[BaseParser]) -> BaseParser:
        """Use the first parser."""
        return parsers[0]

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        """Use the first renderer and its media type."""
        return renderers[0], renderers[0].media_type
