"""Application config for rules."""

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class RulesConfig(AppConfig):
    """The rules app: registry, engine, built-in rules and the rules API."""

    name = "rules"
    verbose_name = "Rules"

    def ready(self) -> None:
        """Import each installed app's ``order_rules`` and ``providers`` modules: they register.

        Also registers the system check that runs every rule's examples.
        """
        autodiscover_modules("order_rules", "providers")
        from rules import checks  # noqa: F401 (importing registers the check)
