"""Swagger documentation of field types every app uses.

drf-yasg imports this module through ``SWAGGER_SETTINGS`` while it loads its
inspectors; nothing else needs to import it (``api.schema`` cannot hold it:
the views import that module, and drf-yasg's inspectors with it).
"""

from typing import Any

from drf_yasg import openapi
from drf_yasg.inspectors import FieldInspector, NotHandled
from rest_framework import serializers


class AnyJSONFieldInspector(FieldInspector):
    """Document a ``JSONField`` as what it holds: any JSON value, with no fixed type.

    drf-yasg calls every ``JSONField`` an object, but one holds a string,
    a number or a list as well. Swagger 2.0 has no union of types, and a
    schema without ``type`` accepts every value: the field's description
    says what to expect.
    """

    def field_to_swagger_object(
        self, field: Any, swagger_object_type: Any, use_references: bool, **kwargs: Any
    ) -> Any:
        """Return a schema without ``type`` for a ``JSONField``."""
        if swagger_object_type is not openapi.Schema:
            return NotHandled
        if not isinstance(field, serializers.JSONField):
            return NotHandled
        return openapi.SwaggerDict(
            title=str(field.label) if field.label else None,
            description=str(field.help_text) if field.help_text else None,
            x_nullable=True if field.allow_null else None,
        )
