"""Content negotiation for endpoints whose answer's format is fixed or chosen by the view."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Answer with the view's first renderer whatever the ``Accept`` header says.

    ``/swagger.json`` is JSON by its name, so a plain ``curl`` or a browser
    asking for HTML gets JSON, not YAML or a 406; the report streams CSV or
    JSON lines by ``Accept`` itself, and its errors are JSON. The request
    body is parsed as usual: a body that is not JSON is a 415.
    """

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        """Use the first renderer and its media type."""
        return renderers[0], renderers[0].media_type
