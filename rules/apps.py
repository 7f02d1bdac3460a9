"""Application config for rules."""

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class RulesConfig(AppConfig):
    """The rules app: registry, engine, built-in rules and the rules API."""

    name = "rules"
    verbose_name = "Rules"

    def ready(self) -> None:
        """Import every installed app's ``order_rules`` module, registering its rules.

        Also registers the system check that runs every rule's examples.
        """
        autodiscover_modules("order_rules")
        from rules import checks  # noqa: F401 (importing registers the check)
