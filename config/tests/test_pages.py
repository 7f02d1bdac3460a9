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


@pytest.mark.parametrize(
    ("path", "widened"),
    [
        ("/admin/login/", {}),
        # Swagger UI also uses inline styles and data: images.
        ("/", {"style-src": "'self' 'unsafe-inline'", "img-src": "'self' data:"}),
        # ReDoc also runs its worker from a blob: and shows Redocly's logo.
        (
            "/redoc/",
            {
                "style-src": "'self' 'unsafe-inline'",
                "img-src": "'self' data: https://cdn.redoc.ly/redoc/logo-mini.svg",
                "worker-src": "blob:",
            },
        ),
    ],
)
def test_each_page_carries_the_sites_policy_widened_only_where_it_needs(client, path, widened):
    response = client.get(path)

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == {
        **directives(SITE_POLICY),
        **widened,
    }


@pytest.mark.parametrize("path", ["/rules/", "/health/", "/swagger.json", "/no/such/path"])
def test_json_answers_carry_no_policy(client, path):
    response = client.get(path)

    assert response["Content-Type"].startswith("application/json")
    assert "Content-Security-Policy" not in response
