import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
import django
from django.conf import settings
settings.INSTALLED_APPS.append("rules.tests.discovery_app")
django.setup()
from rules.engine import RuleRegistry
sys.stdout.write(",".join(sorted(RuleRegistry.get_all_rules())))
"""


def test_rules_in_another_installed_app_are_discovered_at_start_up():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    discovered = result.stdout.split(",")
    assert "large_basket" in discovered
    assert {"divisible_by_5", "min_items_2", "min_total_100"} <= set(discovered)
