"""Every documented status of every operation, answered for real, matches ``/swagger.json``.

``RECIPES`` holds, for each operation the schema lists and each status it
documents, one request that gets that status from the real stack. The test
sends it, checks the status and the media type, and validates the body
against the documented schema (Swagger 2.0 turned into JSON Schema draft 4,
``definitions`` resolved, every documented object closed to undocumented
properties). An operation or a status added to the schema without a recipe
fails ``test_every_documented_status_has_a_recipe``, naming what to add.
Each operation's 405 recipe also checks that body whole: one shape, naming the method.

To cover a new operation, add ``("/path/{param}/", "method"): {status: Recipe(...)}``
to ``RECIPES``: a ``Recipe`` says only how its request differs from the
operation's own (another method, a body, a query, path parameters, the
caller, the settings it is served under, or a fault of the database or the
code); ``WORLD`` below names the rows every request may refer to, and
``OWN_CALLERS`` who sends an operation's requests.
"""

import enum
import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.core.management.color import no_style
from django.db import OperationalError, connection
from django.db.models import Model
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from decisions.models import Decision
from decisions.tests.factories import DecisionFactory, result
from orders.models import Order
from rules.models import ConditionRule, RuleSet, RuleSetItem
from rules.services import ruleset_publish


class Caller(enum.Enum):
    """Who sends a recipe's request."""

    WRITER = "a user with the order and condition rule permissions, by API token"
    ANALYST = "an API key with the analyze scope only"
    CHECKER = "an API key with the check scope only"
    ANONYMOUS = "no credentials"
    BAD_TOKEN = "an API token that does not exist"
    BAD_KEY = "an API key that does not exist"
    SESSION_WITHOUT_CSRF = "a logged-in session that sends no CSRF token"


class Fault(enum.Enum):
    """What goes wrong outside the request while it is served."""

    DATABASE_DOWN = "every query fails as when the database cannot be reached"
    BUG = "the view raises an unexpected exception (config/tests/broken_urls.py)"


# A body one byte over the limit (MAX_REQUEST_BYTES), built when it is sent.
TOO_LARGE = object()


@dataclass(frozen=True)
class Recipe:
    """How the request that gets one documented status differs from the operation's own.

    ``params`` fill the path's ``{parameters}`` over ``WORLD``'s; ``method``
    replaces the operation's (a 405); ``body`` is sent as JSON, ``raw`` as it
    is with ``content_type``; ``caller`` replaces the operation's own
    (``OWN_CALLERS``); ``settings`` are overridden while it is served.
    """

    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    method: str | None = None
    raw: bytes | None = None
    content_type: str = "application/json"
    caller: Caller | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    fault: Fault | None = None


# The rows every request may name: an order, a rule set with one version
# (a code rule and a stored condition rule), a condition rule of the same
# name that no set uses, and the decision of a check of that order by that
# set, made by the `world` fixture; RETIRED_ID is a
# decision by a rule that no longer exists.
WORLD = {"id": 1, "name": "checkout", "number": 1}
RETIRED_ID = 2
MISSING_ID = 999_999

CHECK = {"order_id": WORLD["id"], "rules": ["min_total_100", "big_and_many"]}
BATCH = {"order_ids": [WORLD["id"], MISSING_ID], "ruleset": "checkout"}
QUERY = {"rules": ["min_total_100", "big_and_many"], "outcome": "passed"}
REPORT = {"ruleset": "checkout", "filters": {"items_min": 1}}
PREVIEW = {"rules": ["min_items_2"], "sample_size": 5}
# Two items at most: the recorded decision on WORLD's order of three would flip.
BACKTEST = {"rules": [{"name": "max_items", "params": {"count": 2}}], "sample_size": 5}
ORDER = {"total": "42.50", "items_count": 2}
# A condition rule named as WORLD's rule set, which it does not use (the set uses
# `big_and_many`), then the content of a replace and a new rule.
CONDITION_RULE = {
    "description": "At most 9 items.",
    "condition": {"<=": [{"var": "items_count"}, 9]},
}
NEW_CONDITION_RULE = {"name": "new_rule", **CONDITION_RULE}
NOT_JSON = Recipe(raw=b"order_id=1", content_type="text/plain")
# Every caller has used up its rate: no request is allowed, whatever the clock says.
RATE_USED_UP = {"THROTTLE_RATES": {"check": "0/min", "analyze": "0/min", "anonymous": "0/min"}}


def failures(not_allowed: str, body: Any = None) -> dict[int, Recipe]:
    """Return the recipes of 405 (by *not_allowed*), 500 and 503 for a valid *body*."""
    return {
        405: Recipe(method=not_allowed),
        500: Recipe(body=body, fault=Fault.BUG),
        503: Recipe(body=body, fault=Fault.DATABASE_DOWN),
    }


def body_failures(not_allowed: str, body: Any) -> dict[int, Recipe]:
    """Return ``failures`` and the recipes of 413 and 415, for an operation with a body."""
    return {
        **failures(not_allowed, body),
        413: Recipe(body=TOO_LARGE),
        415: NOT_JSON,
    }


def check_refusals(body: Any = None) -> dict[int, Recipe]:
    """Return the recipes of 401 and 429 of a check, open to anyone by default, and its 403.

    A wrong key is a 401 even where no key is needed. Anyone may call a
    check, so only one with a *body* is refused: a session's without its
    CSRF token.
    """
    refusals = {
        401: Recipe(body=body, caller=Caller.BAD_KEY),
        429: Recipe(body=body, settings=RATE_USED_UP),
    }
    if body is not None:
        refusals[403] = Recipe(body=body, caller=Caller.SESSION_WITHOUT_CSRF)
    return refusals


def analysis_refusals(body: Any = None) -> dict[int, Recipe]:
    """Return the recipes of 401 (no key), 403 (a key without ``analyze``) and 429."""
    return {
        401: Recipe(body=body, caller=Caller.ANONYMOUS),
        403: Recipe(body=body, caller=Caller.CHECKER),
        429: Recipe(body=body, settings=RATE_USED_UP),
    }


RECIPES: dict[tuple[str, str], dict[int, Recipe]] = {
    ("/rules/", "get"): {200: Recipe(), **failures("post"), **check_refusals()},
    # The catalogue reads no database; a key's lookup does.
    ("/facts/", "get"): {
        200: Recipe(),
        **failures("post"),
        503: Recipe(caller=Caller.CHECKER, fault=Fault.DATABASE_DOWN),
        **check_refusals(),
    },
    ("/rules/check/", "post"): {
        200: Recipe(body=CHECK),
        400: Recipe(body={**CHECK, "rules": ["no_such_rule"]}),
        404: Recipe(body={**CHECK, "order_id": MISSING_ID}),
        **body_failures("get", CHECK),
        **check_refusals(CHECK),
    },
    ("/rules/check/batch/", "post"): {
        200: Recipe(body=BATCH),
        400: Recipe(body={**BATCH, "order_ids": []}),
        404: Recipe(body={**BATCH, "ruleset": "no-such-set"}),
        **body_failures("get", BATCH),
        **check_refusals(BATCH),
    },
    ("/rules/query/", "post"): {
        200: Recipe(body=QUERY),
        400: Recipe(raw=b'{"rules": '),
        404: Recipe(body={"ruleset": "no-such-set", "outcome": "passed"}),
        **body_failures("get", QUERY),
        **analysis_refusals(QUERY),
    },
    ("/rules/report/", "post"): {
        200: Recipe(body=REPORT),
        400: Recipe(body={**REPORT, "filters": {"colour": "red"}}),
        404: Recipe(body={**REPORT, "ruleset": "checkout@7"}),
        **body_failures("get", REPORT),
        **analysis_refusals(REPORT),
    },
    ("/rulesets/", "get"): {200: Recipe(), **failures("post"), **check_refusals()},
    ("/rulesets/{name}/", "get"): {
        200: Recipe(),
        404: Recipe(params={"name": "no-such-set"}),
        **failures("post"),
        **check_refusals(),
    },
    ("/rulesets/{name}/preview/", "post"): {
        200: Recipe(body=PREVIEW),
        400: Recipe(body={**PREVIEW, "sample_size": -1}),
        404: Recipe(body=PREVIEW, params={"name": "no-such-set"}),
        **body_failures("get", PREVIEW),
        **analysis_refusals(PREVIEW),
    },
    ("/rulesets/{name}/backtest/", "post"): {
        200: Recipe(body=BACKTEST),
        400: Recipe(body={**BACKTEST, "sample_size": -1}),
        404: Recipe(body=BACKTEST, params={"name": "no-such-set"}),
        **body_failures("get", BACKTEST),
        **analysis_refusals(BACKTEST),
    },
    ("/rulesets/{name}/versions/", "get"): {
        200: Recipe(),
        404: Recipe(params={"name": "no-such-set"}),
        **failures("post"),
        **check_refusals(),
    },
    ("/rulesets/{name}/versions/{number}/", "get"): {
        200: Recipe(),
        404: Recipe(params={"number": 7}),
        **failures("post"),
        **check_refusals(),
    },
    ("/orders/", "get"): {
        200: Recipe(query={"total_min": "10.00", "page_size": "1"}),
        400: Recipe(query={"total_min": "lots"}),
        401: Recipe(caller=Caller.BAD_TOKEN),
        404: Recipe(query={"cursor": "forged"}),
        429: Recipe(settings=RATE_USED_UP),
        **failures("put"),
    },
    ("/orders/", "post"): {
        201: Recipe(body=ORDER),
        400: Recipe(body={**ORDER, "total": "-1.00"}),
        401: Recipe(body=ORDER, caller=Caller.ANONYMOUS),
        403: Recipe(body=ORDER, caller=Caller.SESSION_WITHOUT_CSRF),
        429: Recipe(body=ORDER, settings=RATE_USED_UP),
        **body_failures("put", ORDER),
    },
    ("/orders/{id}/", "get"): {
        200: Recipe(),
        401: Recipe(caller=Caller.BAD_TOKEN),
        404: Recipe(params={"id": MISSING_ID}),
        429: Recipe(settings=RATE_USED_UP),
        **failures("post"),
    },
    ("/orders/{id}/", "put"): {
        200: Recipe(body=ORDER),
        400: Recipe(body={"total": "42.50"}),
        401: Recipe(body=ORDER, caller=Caller.ANONYMOUS),
        403: Recipe(body=ORDER, caller=Caller.SESSION_WITHOUT_CSRF),
        404: Recipe(body=ORDER, params={"id": MISSING_ID}),
        429: Recipe(body=ORDER, settings=RATE_USED_UP),
        **body_failures("post", ORDER),
    },
    ("/orders/{id}/", "patch"): {
        200: Recipe(body={"items_count": 4}),
        400: Recipe(body={"items_count": 0}),
        401: Recipe(body=ORDER, caller=Caller.ANONYMOUS),
        403: Recipe(body=ORDER, caller=Caller.SESSION_WITHOUT_CSRF),
        404: Recipe(body=ORDER, params={"id": MISSING_ID}),
        429: Recipe(body=ORDER, settings=RATE_USED_UP),
        **body_failures("post", ORDER),
    },
    ("/orders/{id}/", "delete"): {
        204: Recipe(),
        401: Recipe(caller=Caller.ANONYMOUS),
        403: Recipe(caller=Caller.SESSION_WITHOUT_CSRF),
        404: Recipe(params={"id": MISSING_ID}),
        429: Recipe(settings=RATE_USED_UP),
        **failures("post"),
    },
    ("/condition-rules/", "get"): {
        200: Recipe(query={"page_size": "1"}),
        400: Recipe(query={"page_size": "0"}),
        401: Recipe(caller=Caller.ANONYMOUS),
        403: Recipe(caller=Caller.CHECKER),
        404: Recipe(query={"cursor": "forged"}),
        429: Recipe(settings=RATE_USED_UP),
        **failures("put"),
    },
    ("/condition-rules/", "post"): {
        201: Recipe(body=NEW_CONDITION_RULE),
        400: Recipe(body={**NEW_CONDITION_RULE, "condition": {"var": "totl"}}),
        401: Recipe(body=NEW_CONDITION_RULE, caller=Caller.ANONYMOUS),
        403: Recipe(body=NEW_CONDITION_RULE, caller=Caller.SESSION_WITHOUT_CSRF),
        429: Recipe(body=NEW_CONDITION_RULE, settings=RATE_USED_UP),
        **body_failures("put", NEW_CONDITION_RULE),
    },
    ("/condition-rules/{name}/", "get"): {
        200: Recipe(),
        401: Recipe(caller=Caller.ANONYMOUS),
        403: Recipe(caller=Caller.CHECKER),
        404: Recipe(params={"name": "no_such_rule"}),
        429: Recipe(settings=RATE_USED_UP),
        **failures("post"),
    },
    ("/condition-rules/{name}/", "put"): {
        200: Recipe(body=CONDITION_RULE),
        400: Recipe(body={**CONDITION_RULE, "severity": "fatal"}),
        401: Recipe(body=CONDITION_RULE, caller=Caller.ANONYMOUS),
        403: Recipe(body=CONDITION_RULE, caller=Caller.SESSION_WITHOUT_CSRF),
        404: Recipe(body=CONDITION_RULE, params={"name": "no_such_rule"}),
        429: Recipe(body=CONDITION_RULE, settings=RATE_USED_UP),
        **body_failures("post", CONDITION_RULE),
    },
    ("/condition-rules/{name}/", "delete"): {
        204: Recipe(),
        401: Recipe(caller=Caller.ANONYMOUS),
        403: Recipe(caller=Caller.SESSION_WITHOUT_CSRF),
        404: Recipe(params={"name": "no_such_rule"}),
        409: Recipe(params={"name": "big_and_many"}),
        429: Recipe(settings=RATE_USED_UP),
        **failures("post"),
    },
    ("/decisions/", "get"): {
        200: Recipe(query={"order_id": str(WORLD["id"]), "page_size": "1"}),
        400: Recipe(query={"passed": "maybe"}),
        404: Recipe(query={"cursor": "forged"}),
        **failures("post"),
        **analysis_refusals(),
    },
    ("/decisions/{id}/", "get"): {
        200: Recipe(),
        404: Recipe(params={"id": MISSING_ID}),
        **failures("post"),
        **analysis_refusals(),
    },
    ("/decisions/{id}/replay/", "post"): {
        200: Recipe(),
        400: Recipe(params={"id": RETIRED_ID}),
        404: Recipe(params={"id": MISSING_ID}),
        **failures("get"),
        **analysis_refusals(),
    },
    ("/health/", "get"): {200: Recipe(), 503: Recipe(fault=Fault.DATABASE_DOWN)},
    ("/health/live", "get"): {200: Recipe()},
    ("/health/ready", "get"): {200: Recipe(), 503: Recipe(fault=Fault.DATABASE_DOWN)},
}
# Who sends an operation's requests unless its recipe names another caller:
# the orders and condition rules APIs, a user with their permissions (an
# order's read would do without, but a method the path does not allow would
# then be a 401, not a 405); the analysis of stored orders and of decisions, a key with
# `analyze`; anyone else, no credentials at all.
OWN_CALLERS: dict[tuple[str, str], Caller] = {
    **dict.fromkeys(
        [
            (path, method)
            for path, method in RECIPES
            if path.startswith(("/orders/", "/condition-rules/"))
        ],
        Caller.WRITER,
    ),
    **dict.fromkeys(
        [
            ("/rules/query/", "post"),
            ("/rules/report/", "post"),
            ("/rulesets/{name}/preview/", "post"),
            ("/rulesets/{name}/backtest/", "post"),
            ("/decisions/", "get"),
            ("/decisions/{id}/", "get"),
            ("/decisions/{id}/replay/", "post"),
        ],
        Caller.ANALYST,
    ),
}

CASES = [
    pytest.param(path, method, status, id=f"{method.upper()} {path} {status}")
    for (path, method), recipes in RECIPES.items()
    for status in recipes
]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """Return the schema the service publishes."""
    response = Client().get("/swagger.json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def world(db: None, django_user_model: Any, make_key: Any) -> dict[str, Any]:
    """Store the rows ``WORLD`` names, a writer and keys; return what the callers need."""
    Order.objects.create(id=WORLD["id"], total="150.00", items_count=3)
    ConditionRule.objects.create(
        name="big_and_many",
        description="Total over 100.00 with at least 2 items.",
        condition={"and": [{">": [{"var": "total"}, "100"]}, {">=": [{"var": "items_count"}, 2]}]},
    )
    ConditionRule.objects.create(
        name=WORLD["name"],
        description="At most 5 items.",
        condition={"<=": [{"var": "items_count"}, 5]},
    )
    ruleset = RuleSet.objects.create(name=WORLD["name"], description="At checkout.")
    RuleSetItem.objects.create(ruleset=ruleset, position=1, rule="min_total_100")
    RuleSetItem.objects.create(
        ruleset=ruleset, position=2, rule="big_and_many", severity="warning"
    )
    assert ruleset_publish(ruleset=ruleset).number == WORLD["number"]
    decided = APIClient().post(
        "/rules/check/", {"order_id": WORLD["id"], "ruleset": WORLD["name"]}, format="json"
    )
    assert decided.status_code == 200, decided.content
    # The decision as the check recorded it, under the id WORLD names.
    Decision.objects.filter(pk=decided.json()["decision_id"]).update(id=WORLD["id"])
    DecisionFactory(id=RETIRED_ID, results=[result("retired_rule")])
    _move_sequences_past_ids(Order, Decision)
    user = django_user_model.objects.create_user(username="writer")
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=[
                f"{action}_{model}"
                for action in ("add", "change", "delete")
                for model in ("order", "conditionrule")
            ],
        )
    )
    return {
        "user": user,
        "token": Token.objects.create(user=user).key,
        "analyst": make_key("analyst", ["analyze"])[1],
        "checker": make_key("checker", ["check"])[1],
    }


def _move_sequences_past_ids(*models: type[Model]) -> None:
    """Move the id sequences of *models* past the ids given explicitly, as loaddata does.

    PostgreSQL's sequences ignore them (and do not roll back with a test), so
    the next row stored without an id could take one of them.
    """
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), list(models)):
            cursor.execute(statement)


def test_every_documented_status_has_a_recipe(schema):
    documented = {
        (path, method, int(status))
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method != "parameters"
        for status in operation["responses"]
    }
    covered = {(path, method, status) for path, method, status in (c.values for c in CASES)}

    missing = "\n".join(f"  {m.upper()} {p} {s}" for p, m, s in sorted(documented - covered))
    assert not missing, (
        f"Documented in /swagger.json with no request recipe in {__name__}.RECIPES:\n{missing}\n"
        "Add a Recipe that gets each of these statuses from the real stack."
    )
    stale = "\n".join(f"  {m.upper()} {p} {s}" for p, m, s in sorted(covered - documented))
    assert not stale, f"Recipes for statuses /swagger.json does not document:\n{stale}"


@pytest.mark.parametrize(("path", "method", "status"), CASES)
def test_a_real_response_of_every_documented_status_matches_its_schema(
    schema, world, path, method, status
):
    operation = schema["paths"][path][method]
    recipe = RECIPES[path, method][status]

    response = _send(recipe, path, method, world)

    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == status, body[:2000]
    documented = operation["responses"][str(status)]
    if "schema" not in documented:
        assert body == b""
        return
    media_type = response["Content-Type"].split(";")[0]
    assert media_type in operation.get("produces", schema["produces"])
    value = json.loads(body) if media_type == "application/json" else body.decode()
    validator = jsonschema.Draft4Validator(_json_schema(documented["schema"], schema))
    problems = [
        f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
        for error in validator.iter_errors(value)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("path", "method"),
    [
        pytest.param(path, method, id=f"{method.upper()} {path}")
        for (path, method), recipes in RECIPES.items()
        if 405 in recipes
    ],
)
def test_a_method_an_operation_does_not_allow_is_a_405_naming_it(world, path, method):
    recipe = RECIPES[path, method][405]

    response = _send(recipe, path, method, world)

    assert response.status_code == 405
    assert response.json() == {
        "error": "Method Not Allowed",
        "code": "method_not_allowed",
        "detail": f'Method "{recipe.method.upper()}" not allowed.',
    }


def _send(recipe: Recipe, path: str, method: str, world: dict[str, Any]) -> Any:
    """Send *recipe*'s request for the operation at *path* and return the response."""
    client = APIClient(enforce_csrf_checks=True)
    client.raise_request_exception = False
    caller = recipe.caller or OWN_CALLERS.get((path, method), Caller.ANONYMOUS)
    if caller is Caller.WRITER:
        client.credentials(HTTP_AUTHORIZATION=f"Token {world['token']}")
    elif caller is Caller.ANALYST:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world['analyst']}")
    elif caller is Caller.CHECKER:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world['checker']}")
    elif caller is Caller.BAD_TOKEN:
        client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    elif caller is Caller.BAD_KEY:
        client.credentials(HTTP_AUTHORIZATION="Api-Key 00000000.00000000000000000000000000000000")
    elif caller is Caller.SESSION_WITHOUT_CSRF:
        client.force_login(world["user"])
    url = path.format(**{**WORLD, **recipe.params})
    if recipe.query:
        url = f"{url}?{urlencode(recipe.query)}"
    if recipe.raw is not None:
        data: bytes | str | None = recipe.raw
    elif recipe.body is TOO_LARGE:
        data = json.dumps({"padding": "x" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    else:
        data = None if recipe.body is None else json.dumps(recipe.body)
    with override_settings(**recipe.settings), _fault(recipe.fault):
        return client.generic(
            (recipe.method or method).upper(), url, data or "", content_type=recipe.content_type
        )


@contextmanager
def _fault(fault: Fault | None) -> Iterator[None]:
    """Make *fault* happen while the block runs."""
    if fault is Fault.DATABASE_DOWN:
        with connection.execute_wrapper(_unreachable):
            yield
    elif fault is Fault.BUG:
        with override_settings(ROOT_URLCONF="config.tests.broken_urls"):
            yield
    else:
        with nullcontext():
            yield


def _unreachable(*args: Any) -> None:
    """Fail a query as the driver does when the database cannot be reached."""
    raise OperationalError("could not connect to server: Connection refused")


def _json_schema(swagger: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """Return the Swagger 2.0 *swagger* schema as JSON Schema, with *document*'s definitions."""
    definitions = {name: _convert(schema) for name, schema in document["definitions"].items()}
    return {"definitions": definitions, "allOf": [_convert(swagger)]}


def _convert(swagger: dict[str, Any]) -> dict[str, Any]:
    """Return one Swagger 2.0 schema as JSON Schema draft 4.

    ``x-nullable`` admits null; an object with documented properties and no
    word on others admits no others, so an undocumented field fails.
    """
    schema: dict[str, Any] = {}
    for key, value in swagger.items():
        if key == "properties":
            schema[key] = {name: _convert(prop) for name, prop in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            schema[key] = _convert(value)
        elif not key.startswith("x-"):
            schema[key] = value
    if swagger.get("x-nullable"):
        if "$ref" in schema:
            return {"anyOf": [schema, {"type": "null"}]}
        if "type" in schema:
            schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if "properties" in schema:
        schema.setdefault("additionalProperties", False)
    return schema
