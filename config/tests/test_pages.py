"""The Content-Security-Policy of the pages a browser renders, and none on JSON answers."""

import pytest

pytestmark = pytest.mark.django_db

SITE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def directives(policy: str) -> dict[str, str]:
    """Return a policy's directives by name, in any order."""
    return dict(part.strip().partition(" ")[::2] for part in policy.split(";"))


def test_the_admin_pages_carry_the_sites_policy(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == directives(SITE_POLICY)


def test_swagger_ui_may_also_use_inline_styles_and_data_images(client):
    response = client.get("/")

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == {
        **directives(SITE_POLICY),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:",
    }


def test_redoc_may_also_run_its_worker_from_a_blob_and_show_redoclys_logo(client):
    response = client.get("/redoc/")

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == {
        **directives(SITE_POLICY),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: https://cdn.redoc.ly/redoc/logo-mini.svg",
        "worker-src": "blob:",
    }


@pytest.mark.parametrize("path", ["/rules/", "/health/", "/swagger.json", "/no/such/path"])
def test_json_answers_carry_no_policy(client, path):
    response = client.get(path)

    assert response["Content-Type"].startswith("application/json")
    assert "Content-Security-Policy" not in response
