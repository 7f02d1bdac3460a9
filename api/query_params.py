"""The API's query strings: each parameter given at most once."""

from django import forms
from django.http import QueryDict
from rest_framework.exceptions import ValidationError


def repeated_message(count: int) -> str:
    """Return the error for a parameter given *count* times."""
    return f"Give this parameter at most once; it was given {count} times."


def one_value(query: QueryDict, name: str) -> str | None:
    """Return the value of the query parameter *name*, or ``None`` when it is absent.

    Raises a 400 naming it when it is given more than once: which of its
    values counts would be a guess.
    """
    values = query.getlist(name)
    if len(values) > 1:
        raise ValidationError({name: [repeated_message(len(values))]})
    return values[0] if values else None


class SingleValuedForm(forms.Form):
    """A form over a query string whose every field may be given at most once."""

    def clean(self) -> dict:
        """Add an error to each field given more than once in a query string."""
        cleaned = super().clean()
        if isinstance(self.data, QueryDict):
            for name in self.fields:
                count = len(self.data.getlist(name))
                if count > 1:
                    self.add_error(name, repeated_message(count))
        return cleaned
