import pytest

pytestmark = pytest.mark.django_db

# What every API view can answer, and an operation with a JSON body.
API_ERRORS = {"405", "500", "503"}
BODY_ERRORS = {"400", "413", "415"}
# Any caller of an API view: wrong credentials, too many requests.
CALLER_ERRORS = {"401", "429"}
# A caller refused: without the scope or the permission, or a session's write
# without its CSRF token.
REFUSED = {"403"}
# A read open to anyone (rules, rule sets, orders) refuses no one.
OPEN_READ = {*API_ERRORS, *CALLER_ERRORS}
READ = {*OPEN_READ, *REFUSED}
WRITE = {*READ, *BODY_ERRORS}
OPERATIONS = {
    ("/rules/", "get"): {"200", *OPEN_READ},
    ("/facts/", "get"): {"200", *OPEN_READ},
    ("/rules/check/", "post"): {"200", "404", *WRITE},
    ("/rules/check/batch/", "post"): {"200", "404", *WRITE},
    ("/rules/query/", "post"): {"200", "404", *WRITE},
    ("/rules/report/", "post"): {"200", "404", *WRITE},
    ("/rulesets/{name}/preview/", "post"): {"200", "404", *WRITE},
    ("/rulesets/{name}/backtest/", "post"): {"200", "404", *WRITE},
    ("/rulesets/", "get"): {"200", *OPEN_READ},
    ("/rulesets/{name}/", "get"): {"200", "404", *OPEN_READ},
    ("/rulesets/{name}/versions/", "get"): {"200", "404", *OPEN_READ},
    ("/rulesets/{name}/versions/{number}/", "get"): {"200", "404", *OPEN_READ},
    ("/orders/", "get"): {"200", "400", "404", *OPEN_READ},
    ("/orders/", "post"): {"201", *WRITE},
    ("/orders/{id}/", "get"): {"200", "404", *OPEN_READ},
    ("/orders/{id}/", "put"): {"200", "404", *WRITE},
    ("/orders/{id}/", "patch"): {"200", "404", *WRITE},
    ("/orders/{id}/", "delete"): {"204", "404", *READ},
    ("/condition-rules/", "get"): {"200", "400", "404", *READ},
    ("/condition-rules/", "post"): {"201", *WRITE},
    ("/condition-rules/{name}/", "get"): {"200", "404", *READ},
    ("/condition-rules/{name}/", "put"): {"200", "404", *WRITE},
    ("/condition-rules/{name}/", "delete"): {"204", "404", "409", *READ},
    ("/decisions/", "get"): {"200", "400", "404", *READ},
    ("/decisions/{id}/", "get"): {"200", "404", *READ},
    ("/decisions/{id}/replay/", "post"): {"200", "400", "404", *READ},
    ("/health/", "get"): {"200", "503"},
    ("/health/live", "get"): {"200"},
    ("/health/ready", "get"): {"200", "503"},
}
# A check takes an API key or, while anonymous checks are allowed, nothing;
# the analysis of stored orders and decisions needs a key; orders take a
# user's token, and reading them nothing; health takes nothing.
KEY_OR_NOTHING = [{"Api-Key": []}, {}]
KEY = [{"Api-Key": []}]
TOKEN_OR_NOTHING = [{"Token": []}, {}]
TOKEN = [{"Token": []}]
TOKEN_OR_KEY = [{"Token": []}, {"Api-Key": []}]
SECURITY = {
    ("/rules/", "get"): KEY_OR_NOTHING,
    ("/facts/", "get"): KEY_OR_NOTHING,
    ("/rules/check/", "post"): KEY_OR_NOTHING,
    ("/rules/check/batch/", "post"): KEY_OR_NOTHING,
    ("/rules/query/", "post"): KEY,
    ("/rules/report/", "post"): KEY,
    ("/rulesets/{name}/preview/", "post"): KEY,
    ("/rulesets/{name}/backtest/", "post"): KEY,
    ("/rulesets/", "get"): KEY_OR_NOTHING,
    ("/rulesets/{name}/", "get"): KEY_OR_NOTHING,
    ("/rulesets/{name}/versions/", "get"): KEY_OR_NOTHING,
    ("/rulesets/{name}/versions/{number}/", "get"): KEY_OR_NOTHING,
    ("/orders/", "get"): TOKEN_OR_NOTHING,
    ("/orders/", "post"): TOKEN,
    ("/orders/{id}/", "get"): TOKEN_OR_NOTHING,
    ("/orders/{id}/", "put"): TOKEN,
    ("/orders/{id}/", "patch"): TOKEN,
    ("/orders/{id}/", "delete"): TOKEN,
    ("/condition-rules/", "get"): TOKEN_OR_KEY,
    ("/condition-rules/", "post"): TOKEN_OR_KEY,
    ("/condition-rules/{name}/", "get"): TOKEN_OR_KEY,
    ("/condition-rules/{name}/", "put"): TOKEN_OR_KEY,
    ("/condition-rules/{name}/", "delete"): TOKEN_OR_KEY,
    ("/decisions/", "get"): KEY,
    ("/decisions/{id}/", "get"): KEY,
    ("/decisions/{id}/replay/", "post"): KEY,
    ("/health/", "get"): None,
    ("/health/live", "get"): None,
    ("/health/ready", "get"): None,
}
CHECKS = [
    ("/rules/", "get"),
    ("/rules/check/", "post"),
    ("/rules/check/batch/", "post"),
    ("/rulesets/", "get"),
    ("/rulesets/{name}/", "get"),
    ("/rulesets/{name}/versions/", "get"),
    ("/rulesets/{name}/versions/{number}/", "get"),
]


def _operations(schema: dict) -> dict[tuple[str, str], dict]:
    """Return the schema's operations by path and method."""
    return {
        (path, method): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if method != "parameters"
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
        key: set(operation["responses"]) for key, operation in _operations(schema).items()
    }

    assert documented == OPERATIONS


def test_every_operation_names_the_credentials_it_takes(schema):
    security = {key: operation.get("security") for key, operation in _operations(schema).items()}

    assert security == SECURITY
    api_key = schema["securityDefinitions"]["Api-Key"]
    assert (api_key["type"], api_key["in"], api_key["name"]) == (
        "apiKey",
        "header",
        "Authorization",
    )
    assert "create_api_key NAME --scopes check,analyze" in api_key["description"]


def test_without_anonymous_checks_a_check_needs_a_key_and_refuses_one_without_the_scope(
    client, settings
):
    settings.ALLOW_ANONYMOUS_CHECKS = False

    operations = _operations(client.get("/swagger.json").json())

    for key in CHECKS:
        assert operations[key]["security"] == KEY, key
        assert set(operations[key]["responses"]) == OPERATIONS[key] | REFUSED, key


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
        "currency",
        "customer",
        "shipping",
        "billing",
        "payment_method",
        "channel",
        "coupons",
        "lines",
        "attributes",
    }


def test_check_response_documents_results_and_their_outcomes(schema):
    response = schema["paths"]["/rules/check/"]["post"]["responses"]["200"]
    properties = _definition(schema, response["schema"])["properties"]
    result = _definition(schema, properties["results"]["items"])

    assert {"passed", "details", "results", "ruleset", "order_id", "decision_id"} <= set(
        properties
    )
    assert properties["decision_id"]["x-nullable"] is True
    assert result["properties"]["outcome"]["enum"] == ["passed", "failed", "error", "skipped"]


def test_decisions_are_documented_with_their_filters_and_whole_record(schema):
    listing = schema["paths"]["/decisions/"]["get"]
    detail = schema["paths"]["/decisions/{id}/"]["get"]["responses"]["200"]
    replay = schema["paths"]["/decisions/{id}/replay/"]["post"]["responses"]["200"]
    record = _definition(schema, detail["schema"])["properties"]

    assert {parameter["name"] for parameter in listing["parameters"]} == {
        "cursor",
        "page_size",
        "order_id",
        "ruleset",
        "ruleset_version",
        "passed",
        "caller",
        "rule",
        "outcome",
        "created_min",
        "created_max",
    }
    assert "analyze" in listing["description"]
    assert set(record) == {
        "id",
        "decided_at",
        "caller",
        "request_id",
        "order_id",
        "ruleset",
        "passed",
        "outcomes",
        "order",
        "rules",
        "fail_fast",
        "results",
    }
    assert set(_definition(schema, replay["schema"])["properties"]) == {
        "reproduced",
        "then",
        "now",
        "differences",
        "refreshed",
        "provided_changes",
    }


@pytest.mark.parametrize(("path", "marker"), [("/", "swagger-ui"), ("/redoc/", "redoc")])
def test_documentation_pages_render(client, path, marker):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert marker in response.content.decode()


def test_error_detail_is_documented_without_a_fixed_type(schema):
    detail = schema["definitions"]["Error"]["properties"]["detail"]

    assert "type" not in detail
    assert "A string for most errors. An object for `invalid_request`" in detail["description"]


def test_rule_parameters_and_examples_are_documented_as_any_json_values(schema):
    rule = schema["definitions"]["Rule"]["properties"]
    example = schema["definitions"]["RuleExample"]["properties"]

    assert rule["params"]["type"] == "object"
    assert example["order"]["additionalProperties"] == {}
    assert example["params"]["additionalProperties"] == {}
    assert example["expected"]["enum"] == ["passed", "failed"]


def test_report_documents_its_rows_and_its_json_errors(schema):
    report = schema["paths"]["/rules/report/"]["post"]

    description = " ".join(report["description"].split())
    assert report["produces"] == ["application/x-ndjson", "text/csv", "application/json"]
    assert '`{"columns": ["order_id", "min_total_100", "passed"]}`' in description
    assert "as `application/json` in the error body" in description


EXACTLY_ONE_SOURCE = "Exactly one of `rules` and `ruleset`"


@pytest.mark.parametrize(
    "path", ["/rules/check/", "/rules/check/batch/", "/rules/query/", "/rules/report/"]
)
def test_what_swagger_cannot_state_is_said_in_the_description(schema, path):
    operation = schema["paths"][path]["post"]
    [body] = operation["parameters"]
    properties = _definition(schema, body["schema"])["properties"]

    assert EXACTLY_ONE_SOURCE in " ".join(operation["description"].split())
    assert "Swagger 2.0 cannot state this" in " ".join(operation["description"].split())
    for name in ("rules", "ruleset"):
        assert "Give exactly one of `rules` and `ruleset`." in properties[name]["description"]
    assert "only beside a `ruleset`" in properties["ruleset_version"]["description"]


def test_a_check_says_it_takes_exactly_one_order(schema):
    operation = schema["paths"]["/rules/check/"]["post"]
    [body] = operation["parameters"]
    properties = _definition(schema, body["schema"])["properties"]

    assert "Exactly one of `order_id` and `order`" in " ".join(operation["description"].split())
    assert "Give exactly one of `order_id` and `order`." in properties["order_id"]["description"]
    order = _definition(schema, properties["order"])
    assert "Give exactly one of `order_id` and `order`." in order["description"]


def test_a_rule_item_states_the_limits_of_a_name_and_of_an_object(schema):
    [body] = schema["paths"]["/rules/check/"]["post"]["parameters"]
    item = _definition(schema, body["schema"])["properties"]["rules"]["items"]

    assert (item["minLength"], item["maxLength"], item["required"]) == (1, 100, ["name"])
    assert item["properties"]["name"]["minLength"] == item["properties"]["as"]["minLength"] == 1


def test_a_batch_says_its_order_ids_are_distinct(schema):
    [body] = schema["paths"]["/rules/check/batch/"]["post"]["parameters"]

    assert _definition(schema, body["schema"])["properties"]["order_ids"]["uniqueItems"] is True


def test_body_filters_are_documented_one_by_one_and_admit_no_other_key(schema):
    filters = schema["definitions"]["RuleQueryRequest"]["properties"]["filters"]
    query = {p["name"]: p for p in schema["paths"]["/orders/"]["get"]["parameters"]}

    assert filters["additionalProperties"] is False
    assert set(filters["properties"]) == {*query} - {"cursor", "page_size"} | {
        "created_from",
        "created_to",
    }
    assert filters["properties"]["total_min"]["pattern"] == query["total_min"]["pattern"]
    assert filters["properties"]["items_min"]["type"] == "integer"


def test_integer_filters_document_their_columns_range(schema):
    filters = schema["definitions"]["RuleQueryRequest"]["properties"]["filters"]["properties"]
    orders = {p["name"]: p for p in schema["paths"]["/orders/"]["get"]["parameters"]}
    decisions = {p["name"]: p for p in schema["paths"]["/decisions/"]["get"]["parameters"]}

    for items in (filters["items_min"], orders["items_max"]):
        assert (items["minimum"], items["maximum"]) == (0, 2**31 - 1)
    assert (decisions["order_id"]["minimum"], decisions["order_id"]["maximum"]) == (
        -(2**63),
        2**63 - 1,
    )
    assert decisions["ruleset_version"]["maximum"] == 2**31 - 1


def test_rule_set_paths_give_their_parameters_as_the_urls_read_them(schema):
    operation = schema["paths"]["/rulesets/{name}/versions/{number}/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}

    assert parameters["name"]["pattern"] == "^[-a-zA-Z0-9_]+$"
    assert (parameters["number"]["type"], parameters["number"]["minimum"]) == ("integer", 0)


@pytest.mark.parametrize(
    ("path", "method"), [("/decisions/{id}/", "get"), ("/decisions/{id}/replay/", "post")]
)
def test_decision_paths_give_their_id_as_the_url_reads_it(schema, path, method):
    [parameter] = [p for p in schema["paths"][path][method]["parameters"] if p["in"] == "path"]

    assert (parameter["name"], parameter["type"], parameter["minimum"]) == ("id", "integer", 0)


def test_a_replay_asks_providers_afresh_only_when_its_query_says_refresh(schema):
    parameters = schema["paths"]["/decisions/{id}/replay/"]["post"]["parameters"]

    [refresh] = [p for p in parameters if p["in"] == "query"]

    assert (refresh["name"], refresh["type"], refresh["required"]) == ("refresh", "boolean", False)
