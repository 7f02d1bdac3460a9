from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers

from rules.engine import RuleSpec
from rules.serializers.asked import _RULE_NAME, RuleItemField

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
