"""The Content-Security-Policy of the pages a browser renders: the admin, Swagger UI, ReDoc.

django-csp writes the header from ``CONTENT_SECURITY_POLICY`` in the
settings; the documentation views loosen it where their JavaScript needs
(``config/urls.py``). JSON answers get none: a browser runs nothing in them.
"""

from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponseBase


class PageSecurityPolicyMiddleware(CSPMiddleware):
    """Give every HTML response django-csp's policy, and leave the rest alone.

    Building the header costs about 50 µs a response, some 4 % of a check,
    for JSON that no browser renders as a page.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        """Add the policy to an HTML *response*; return any other unchanged."""
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)
