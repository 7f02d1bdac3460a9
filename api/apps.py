"""Application config for the API's shared conventions."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The API app: the keys of client systems, their admin and their command."""

    name = "api"
    verbose_name = "API access"

    def ready(self) -> None:
        """Connect the receivers that log admin login failures and lockouts."""
        from api import lockouts  # noqa: F401 (importing connects the receivers)
