"""Config of the discovery test app."""

from django.apps import AppConfig


class DiscoveryAppConfig(AppConfig):
    """An app that adds a rule without touching the rules package."""

    name = "rules.tests.discovery_app"
    label = "discovery_app"
