"""schemathesis hooks: the rules of a request that Swagger 2.0 cannot state.

schemathesis generates requests from the schema alone. A few rules of this
API cannot be written in a Swagger 2.0 schema, so a request the schema calls
valid may still break one; each such rule is said in the operation's and the
fields' descriptions instead, and a 400 that names only such rules is the
right answer, not a failure. ``filter_failure`` drops exactly those
"schema-valid request rejected" failures and keeps every other.
"""

from typing import Any

import schemathesis

# 400 codes whose cause depends on data, not on the request's shape: which rules
# exist (code rules and the condition rules stored in the database), which
# parameters each takes (listed by `GET /rules/`), and which facts a condition
# may read (listed by `GET /facts/`).
DATA_DEPENDENT_CODES = frozenset({"unknown_rule", "invalid_params", "unknown_fact"})
# 400 codes of rules between an order's fields: `items_count` is the sum of the
# lines' quantities (those given, or a stored order's).
BETWEEN_FIELDS_CODES = frozenset({"inconsistent_order"})
# Messages of `invalid_request` for rules between fields, or between items,
# that Swagger 2.0 has no words for (no `oneOf`, no uniqueness of a derived key).
UNSTATABLE_MESSAGES = (
    "Give exactly one of 'rules' and 'ruleset'.",
    "Give exactly one of 'order_id' and 'order'.",
    "Pin a version once: `ruleset_version` beside a `ruleset`, or `name@N`.",
    "Each key may appear once; repeated: ",
    "Give 'created_min' or its older name 'created_from', not both.",
    "Give 'created_max' or its older name 'created_to', not both.",
    "Give the `rule` whose outcome this is.",
    "Required without lines.",
    # An unknown key of an order, refused as its schema's `additionalProperties: false`
    # says; schemathesis's fuzzing still sends one now and then (`detail`).
    "Unknown field: an order has no such fact.",
    # The same of a condition rule's body.
    "Unknown field.",
    # An order's attributes: slug keys and flat values (no union type, no key pattern).
    "A key is a slug of at most ",
    "A value is a string (a number as a string",
)
# Messages at a path of an order that name a rule between its fields: an order
# gives `items_count` unless it gives lines; the lines' totals add up to a
# subtotal within its range. A condition rule's description is not blank,
# spaces alone included (a pattern of "not only spaces" would differ between
# JavaScript's and Python's ideas of a space).
ORDER_FIELD_MESSAGES = {
    ("items_count",): "This field is required.",
    ("subtotal",): "Ensure that there are no more than 10 digits in total.",
    ("description",): "This field may not be blank.",
}
# A condition rule's name is unique among all rules, code rules included: it
# depends on the rules that exist.
TAKEN_NAME_MESSAGES = ("Condition rule with this Name already exists.", "A code rule is already")
# Every string of a body, object keys included, refuses NUL characters and
# unpaired surrogates (as DRF's CharField does); the API's description says so,
# the schema's patterns do not.
ANY_STRING_MESSAGES = ("Null characters are not allowed.", "Surrogate characters are not allowed.")
# A rule item is a name or an object: a union of types, which Swagger 2.0 cannot
# state either, so its schema has no type, and admits other values (and null).
RULE_ITEM_MESSAGES = (
    "Expected a rule name or an object with a 'name'.",
    "This field may not be null.",
)


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but a 400 that names only rules the schema cannot state.

    Also drop "missing Content-Type" on a 204: it has no content, but
    Swagger 2.0 gives media types per operation, not per response, so the
    check expects the operation's.
    """
    if failure.code == "ST104" and response.status_code == 204:
        return False
    if failure.code != "ST202" or response.status_code != 400:
        return True
    try:
        body = response.json()
    except ValueError:
        return True
    if body.get("code") in DATA_DEPENDENT_CODES | BETWEEN_FIELDS_CODES:
        return False
    if body.get("code") != "invalid_request":
        return True
    messages = list(_messages(body.get("detail"), ()))
    return not messages or not all(_unstatable(path, message) for path, message in messages)


def _unstatable(path: tuple[str, ...], message: str) -> bool:
    """Return whether *message*, at *path* in the detail, names a rule the schema cannot state."""
    if message.startswith(UNSTATABLE_MESSAGES) or message in ANY_STRING_MESSAGES:
        return True
    if ORDER_FIELD_MESSAGES.get(path) == message:
        return True
    # A condition rule's condition: the language of the Conditions page, over
    # the facts of `GET /facts/`, which a schema without a type cannot state.
    if path == ("condition",):
        return True
    if path == ("name",) and message.startswith(TAKEN_NAME_MESSAGES):
        return True
    # An attribute's value is a string or a boolean, never null: a union of types.
    if path and path[-1].startswith("attributes.") and message == "This field may not be null.":
        return True
    is_rule_item = len(path) == 2 and path[0] == "rules" and path[1].isdigit()
    return is_rule_item and message in RULE_ITEM_MESSAGES


def _messages(detail: Any, path: tuple[str, ...]) -> Any:
    """Yield ``(path, message)`` for every message of a validation error's detail."""
    if isinstance(detail, str):
        yield path, detail
    elif isinstance(detail, list):
        for item in detail:
            yield from _messages(item, path)
    elif isinstance(detail, dict):
        for key, item in detail.items():
            yield from _messages(item, (*path, key))
