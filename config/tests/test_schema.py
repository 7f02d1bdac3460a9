import pytest

pytestmark = pytest.mark.django_db

POST_ERRORS = {"400", "404", "405", "413", "415", "500", "503"}
OPERATIONS = {
    ("/rules/", "get"): {"200", "405", "500", "503"},
    ("/rules/check/", "post"): {"200", *POST_ERRORS},
    ("/rules/check/batch/", "post"): {"200", *POST_ERRORS},
    ("/rules/query/", "post"): {"200", *POST_ERRORS},
    ("/rules/report/", "post"): {"200", *POST_ERRORS},
    ("/rulesets/{name}/preview/", "post"): {"200", *POST_ERRORS},
    ("/rulesets/", "get"): {"200", "405", "500", "503"},
    ("/rulesets/{name}/", "get"): {"200", "404", "405", "500", "503"},
    ("/rulesets/{name}/versions/", "get"): {"200", "404", "405", "500", "503"},
    ("/rulesets/{name}/versions/{number}/", "get"): {"200", "404", "405", "500", "503"},
    ("/orders/", "get"): {"200", "400", "401", "404", "405", "500", "503"},
    ("/orders/", "post"): {"201", "401", "403", *POST_ERRORS} - {"404"},
    ("/orders/{id}/", "get"): {"200", "401", "404", "405", "500", "503"},
    ("/orders/{id}/", "put"): {"200", "401", "403", *POST_ERRORS},
    ("/orders/{id}/", "patch"): {"200", "401", "403", *POST_ERRORS},
    ("/orders/{id}/", "delete"): {"204", "401", "403", "404", "405", "500", "503"},
    ("/health/", "get"): {"200", "503"},
    ("/health/live", "get"): {"200"},
    ("/health/ready", "get"): {"200", "503"},
}


@pytest.fixture
def schema(client):
    response = client.get("/swagger.json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("accept", [None, "*/*", "text/html", "application/yaml"])
def test_schema_is_json_whatever_the_accept_header(client, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = client.get("/swagger.json", **headers)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["info"]["title"] == "Pluggable Rule Engine API"


def test_schema_lists_every_endpoint_with_its_error_responses(schema):
    documented = {
        (path, method): set(operation["responses"])
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if method != "parameters"
    }

    assert documented == OPERATIONS


def test_error_responses_are_documented_with_the_error_body(schema):
    error_ref = schema["paths"]["/rules/check/"]["post"]["responses"]["404"]["schema"]["$ref"]

    assert error_ref == "#/definitions/Error"
    assert set(schema["definitions"]["Error"]["properties"]) == {"error", "code", "detail"}


def _definition(schema: dict, ref_holder: dict) -> dict:
    return schema["definitions"][ref_holder["$ref"].rsplit("/", 1)[1]]


def test_check_request_documents_every_form_with_its_limits(schema):
    [body] = schema["paths"]["/rules/check/"]["post"]["parameters"]
    properties = _definition(schema, body["schema"])["properties"]

    assert set(properties) == {
        "order_id",
        "order",
        "rules",
        "ruleset",
        "ruleset_version",
        "fail_fast",
    }
    assert properties["order_id"]["minimum"] == 1
    assert properties["rules"]["maxItems"] == 100
    rule_item = properties["rules"]["items"]
    assert set(rule_item["properties"]) == {"name", "params", "as", "severity"}
    assert "rule name" in rule_item["description"]
    assert set(_definition(schema, properties["order"])["properties"]) == {
        "total",
        "items_count",
        "created_at",
    }


def test_check_response_documents_results_and_their_outcomes(schema):
    response = schema["paths"]["/rules/check/"]["post"]["responses"]["200"]
    properties = _definition(schema, response["schema"])["properties"]
    result = _definition(schema, properties["results"]["items"])

    assert {"passed", "details", "results", "ruleset", "order_id"} <= set(properties)
    assert result["properties"]["outcome"]["enum"] == ["passed", "failed", "error", "skipped"]


@pytest.mark.parametrize(("path", "marker"), [("/", "swagger-ui"), ("/redoc/", "redoc")])
def test_documentation_pages_render(client, path, marker):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert marker in response.content.decode()
