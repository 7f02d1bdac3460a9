"""The packages depend on each other one way, and the engine stays free of HTTP."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Which top-level packages each package may import (besides itself).
ALLOWED = {
    "api": set(),
    "orders": {"api"},
    "decisions": {"api", "orders"},
    "rules": {"api", "decisions", "orders"},
}
PACKAGES = {"api", "config", "decisions", "orders", "rules"}


def _imported_packages(path: Path) -> set[str]:
    """Return the project packages that the module at *path* imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & PACKAGES


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_packages_below_it(package):
    modules = [p for p in (ROOT / package).rglob("*.py") if "tests" not in p.parts]
    offending = {
        str(module.relative_to(ROOT)): sorted(
            _imported_packages(module) - ALLOWED[package] - {package}
        )
        for module in modules
    }

    assert {module: names for module, names in offending.items() if names} == {}


def test_the_engine_imports_nothing_from_drf_views_or_responses():
    # Settings without django.setup(): only what the engine itself imports is loaded.
    script = (
        "import sys; import django.conf; django.conf.settings.configure(); "
        "import rules.engine; "
        "sys.stdout.write(' '.join(sorted(m for m in sys.modules "
        "if m.startswith(('rest_framework.views', 'rest_framework.response')))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout == ""
