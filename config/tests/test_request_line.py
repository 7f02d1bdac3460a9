"""The longest request line the production server reads, and its answer past it."""

import http.client
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.server

LIMIT = 8190


def _get(url: str, path: str) -> tuple[int, str, bytes]:
    """Send ``GET path`` to the server at *url*; return status, content type and body."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def _path_of_request_line(length: int) -> str:
    """Return a path whose request line, ``GET <path> HTTP/1.1``, is *length* bytes long."""
    prefix = "/health/live?pad="
    return prefix + "x" * (length - len("GET  HTTP/1.1") - len(prefix))


def test_a_request_line_twice_gunicorns_default_limit_reaches_the_service(gunicorn_server):
    status, content_type, body = _get(gunicorn_server, _path_of_request_line(LIMIT))

    assert (status, content_type) == (200, "application/json")
    assert body == b'{"status":"ok"}'


def test_a_longer_request_line_is_gunicorns_own_414_as_documented(gunicorn_server, client):
    status, content_type, _ = _get(gunicorn_server, _path_of_request_line(LIMIT + 1))

    assert (status, content_type.split(";")[0]) == (414, "text/html")
    description = client.get("/swagger.json").json()["info"]["description"]
    assert "longer than 8190 bytes is refused by the HTTP server itself" in description
    assert "`414 URI Too Long` and a short HTML page" in description


def test_behind_the_proxy_the_longest_request_line_is_the_same(proxied_stack):
    proxied_url = proxied_stack.url
    longest = _get(proxied_url, _path_of_request_line(LIMIT))
    status, content_type, _ = _get(proxied_url, _path_of_request_line(LIMIT + 1))

    assert longest == (200, "application/json", b'{"status":"ok"}')
    # nginx's own page, as docs/errors.md says.
    assert (status, content_type.split(";")[0]) == (414, "text/html")
