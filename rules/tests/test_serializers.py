from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers

from rules.engine import RuleSpec
from rules.serializers.asked import (
    _RULE_NAME,
    MAX_RULES_PER_CHECK,
    RuleItemField,
    RuleItemSerializer,
    plain_item,
)
from rules.serializers.checks import MAX_ORDER_ID, RuleCheckRequestSerializer, _common_check

# Null characters, lone surrogates and lengths around the limit, often.
NAMES = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\x00", "\ud800", "\udfff", "a", " "]),
        st.characters(exclude_categories=()),
    ),
    max_size=120,
)


def _outcome(validate, name):
    """Return what *validate* makes of *name*: its value, or its validation error's detail."""
    try:
        return validate(name)
    except serializers.ValidationError as exc:
        return exc.detail


@given(name=NAMES)
def test_a_plain_rule_name_is_accepted_exactly_when_the_charfield_accepts_it(name):
    by_charfield = _outcome(lambda text: RuleSpec(_RULE_NAME.run_validation(text)), name)

    assert _outcome(RuleItemField().to_internal_value, name) == by_charfield


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)
ITEMS = st.dictionaries(
    st.sampled_from(["name", "params", "as", "severity", "other"]),
    NAMES | JSON_VALUES | st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=3),
    max_size=3,
)


def _by_serializer(item):
    serializer = RuleItemSerializer(data=item)
    serializer.is_valid(raise_exception=True)
    values = serializer.validated_data
    return RuleSpec(values["name"], values["params"], values.get("alias"), values.get("severity"))


@given(item=ITEMS)
def test_a_plain_rule_object_is_read_exactly_as_its_serializer_reads_it(item):
    plain = plain_item(item)

    if plain is not None:
        assert plain == _by_serializer(item)
    assert _outcome(RuleItemField().to_internal_value, item) == _outcome(_by_serializer, item)


# Values around what a common check body holds: ids at their limits, bools,
# numbers and strings that look like ids, lists of names, of rule objects and
# of other things.
ORDER_IDS = st.integers(min_value=1, max_value=MAX_ORDER_ID) | st.sampled_from(
    [0, MAX_ORDER_ID + 1, -1, True, 1.0, "1"]
)
NAME_LISTS = st.lists(
    st.text(max_size=5) | NAMES | ITEMS, min_size=1, max_size=4
) | st.sampled_from(
    [
        [],
        ["a"] * MAX_RULES_PER_CHECK,
        ["a"] * (MAX_RULES_PER_CHECK + 1),
        ["a", 1],
        ["a", None],
        ["a", {"name": "a"}],
        [{"name": "a", "params": {"x": 1}}, {"name": "b", "params": []}],
    ]
)
OTHERS = st.none() | st.integers() | st.text(max_size=3) | st.just(("a",))
CHECK_BODIES = st.fixed_dictionaries(
    {"order_id": ORDER_IDS, "rules": NAME_LISTS}, optional={"fail_fast": st.booleans()}
) | st.fixed_dictionaries(
    {"order_id": ORDER_IDS | OTHERS, "rules": NAME_LISTS | OTHERS},
    optional={"fail_fast": st.booleans() | OTHERS, "order": OTHERS, "ruleset": OTHERS},
)


@given(body=CHECK_BODIES)
def test_a_common_check_body_gets_what_the_fields_make_of_it(body):
    by_fields = _outcome(
        super(RuleCheckRequestSerializer, RuleCheckRequestSerializer()).to_internal_value, body
    )

    common = _common_check(body)

    assert common is None or common == by_fields


def test_the_usual_check_body_is_a_common_one():
    body = {"order_id": 17, "rules": ["min_total_100", "min_items_2"], "fail_fast": True}

    assert _common_check(body) == {
        "fail_fast": True,
        "order_id": 17,
        "rules": [RuleSpec("min_total_100"), RuleSpec("min_items_2")],
    }


def test_a_check_body_of_rule_objects_with_params_is_a_common_one():
    body = {
        "order_id": 17,
        "rules": ["min_total_100", {"name": "risk_score_at_most", "params": {"score": 70}}],
    }

    assert _common_check(body) == {
        "fail_fast": False,
        "order_id": 17,
        "rules": [RuleSpec("min_total_100"), RuleSpec("risk_score_at_most", {"score": 70})],
    }
