"""Swagger documentation of the rules API's own field types.

drf-yasg imports this module through ``SWAGGER_SETTINGS`` while it loads its
inspectors; nothing else needs to import it.
"""

from typing import Any

from drf_yasg import openapi
from drf_yasg.inspectors import FieldInspector, NotHandled

from rules.engine import Severity
from rules.serializers.asked import MAX_KEY_LENGTH, MAX_NAME_LENGTH, RuleItemField


class RuleItemFieldInspector(FieldInspector):
    """Document a rule item, which is a name *or* an object, with no single type.

    Swagger 2.0 has no ``oneOf``; a schema without ``type`` accepts both, so
    Swagger UI's "Try it out" sends names and objects alike.
    """

    def field_to_swagger_object(
        self, field: Any, swagger_object_type: Any, use_references: bool, **kwargs: Any
    ) -> Any:
        """Return the rule item schema for a ``RuleItemField``."""
        if not isinstance(field, RuleItemField) or swagger_object_type is not openapi.Schema:
            return NotHandled
        return openapi.SwaggerDict(
            description=(
                "A rule name (a string, e.g. `min_total_100`) or an object "
                '`{"name", "params", "as", "severity"}`.'
            ),
            properties={
                "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH},
                "params": {"type": "object"},
                "as": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
                "severity": {"type": "string", "enum": [s.value for s in Severity]},
            },
            required=["name"],
            # For a name: the same limits as an object's `name`.
            minLength=1,
            maxLength=MAX_NAME_LENGTH,
            example="min_total_100",
        )
