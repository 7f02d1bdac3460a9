"""The README and the documentation site: their shape, and that they agree with the code.

The README is the front door: the two commands first, at most 12 KB, links
into docs/. Where a page of docs/ restates the code (the error codes, the
metric names, the order's facts, the benchmark results it includes), a test
compares the two both ways, so that neither drifts. The configuration page is compared in
test_deploy.py, beside the list of the files the settings are read from.
"""

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib import import_module

import pytest
import yaml
from django.conf import settings
from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, REGISTRY
from prometheus_client.metrics_core import Metric
from rest_framework import exceptions

from api.errors import ServiceError
from config.metrics import DatabaseCollector
from config.tests.servers import REPO_ROOT
from orders.facts import catalogue

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
README_MAX_BYTES = 12 * 1024
# The packages whose code serves requests; their tests and migrations aside.
SERVED_PACKAGES = ("api", "config", "decisions", "orders", "rules")
NGINX_TEMPLATES = REPO_ROOT / "deploy" / "nginx" / "templates"
JSON_CODE = re.compile(r'"code": "([a-z_]+)"')
# A row of a table whose second cell is a code: | 404 | `not_found` | when |
ERROR_ROW = re.compile(r"^\| [^|]+ \| `([a-z_]+)` \|", re.MULTILINE)
# A row of the metrics table; its first cell names one or more metrics.
METRIC_ROW = re.compile(r"^\| (`[a-z_]+`(?:, `[a-z_]+`)*) \|", re.MULTILINE)
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)
# A row of the facts table: | `path` | type | description | `example` | yes/no |
FACT_ROW = re.compile(
    r"^\| `([a-z_.\[\]*]+)` \| (\w+) \| ([^|]+) \| `([^`]+)` \| (yes|no) \| (yes|no) \|$", re.M
)
DOCS_LINK = re.compile(r"\]\((docs/[^)#]+\.md)(?:#[^)]*)?\)")


def test_the_readme_starts_with_the_two_commands():
    text = README.read_text()
    first_block = re.search(r"```sh\n(.*?)```", text, re.DOTALL)

    assert text.startswith("# Pluggable Rule Engine\n\n```sh\n")
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block[1].splitlines()]
    assert commands == ["make run", "make test"]


def test_the_readme_is_at_most_12_kb():
    assert len(README.read_bytes()) <= README_MAX_BYTES


def test_the_readme_links_only_to_pages_of_the_docs_site():
    site = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text())
    pages = {f"docs/{page}" for page in _nav_pages(site["nav"])}
    linked = set(DOCS_LINK.findall(README.read_text()))

    assert linked
    assert sorted(linked - pages) == []


def test_the_docs_site_builds_with_no_warning(tmp_path):
    """What ``make lint`` runs: a broken link or anchor, or a page out of the nav, fails."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "errors" / "index.html").is_file()


def test_the_errors_page_lists_every_code_the_service_and_its_proxy_answer_with():
    documented = ERROR_ROW.findall((DOCS / "errors.md").read_text())

    assert len(documented) == len(set(documented)), "a code has two rows"
    assert sorted(set(documented) ^ answered_error_codes()) == []


# The scrape reads the decision log's size from the database.
@pytest.mark.django_db
def test_the_metrics_page_lists_every_metric_that_metrics_serves():
    rows = METRIC_ROW.findall((DOCS / "metrics.md").read_text())
    documented = [name.strip("`") for row in rows for name in row.split(", ")]

    assert len(documented) == len(set(documented)), "a metric has two rows"
    assert sorted(set(documented) ^ served_metric_names()) == []


def test_the_order_facts_page_lists_every_fact_as_it_is_declared():
    rows = FACT_ROW.findall((DOCS / "facts.md").read_text())
    declared = [
        (
            fact.name,
            fact.type.value,
            fact.description,
            json.dumps(fact.example),
            "yes" if fact.nullable else "no",
            "yes" if fact.column is not None else "no",
        )
        for fact in catalogue()
    ]

    assert rows == declared


def test_the_results_page_includes_every_file_of_bench_results():
    included = SNIPPET.findall((DOCS / "benchmark-results.md").read_text())
    results = REPO_ROOT / "bench" / "results"

    assert len(included) == len(set(included))
    assert sorted(included) == sorted(
        path.relative_to(REPO_ROOT).as_posix() for path in results.glob("*.md")
    )


# --- What the code answers with ----------------------------------------------------


def answered_error_codes() -> set[str]:
    """Return every machine code of an error body the service or its nginx can send.

    The codes of the exception classes a request can raise, the codes the
    views and the report write themselves, and the codes of nginx's own
    JSON answers.
    """
    return _exception_codes() | _written_codes() | _nginx_codes()


def _exception_codes() -> set[str]:
    """Return the code of each exception class that reaches the API's handler.

    DRF raises its own classes as they are; of the project's, a class with
    subclasses of its own is a base (``ServiceError``, ``RuleError``,
    ``BudgetError``) and is never raised itself. A ``ValidationError`` is
    answered ``invalid_request`` (``api.errors``).
    """
    # Every view, and what the views import: the classes a request can meet.
    import_module(settings.ROOT_URLCONF)
    codes = set()
    for cls in _subclasses(exceptions.APIException) | _subclasses(ServiceError):
        if cls.__module__ == exceptions.__name__:
            codes.add(
                "invalid_request"
                if issubclass(cls, exceptions.ValidationError)
                else cls.default_code
            )
        elif _is_served(cls.__module__) and not cls.__subclasses__():
            codes.add(cls.code if issubclass(cls, ServiceError) else cls.default_code)
    return codes


def _subclasses(cls: type) -> set[type]:
    """Return every subclass of *cls*, at any depth."""
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def _is_served(module: str) -> bool:
    """Return whether *module* is code that serves requests, not a test."""
    return module.split(".")[0] in SERVED_PACKAGES and ".tests" not in module


def _written_codes() -> set[str]:
    """Return the codes the served code passes as literals to its own functions of a ``code``.

    ``error_body(status, "not_found", ...)`` in a view, a report's
    ``_error_record(..., "report_timeout", ...)``; a ``code`` given as a
    variable counts every string the calling function assigns to it.
    """
    trees = [ast.parse(path.read_text()) for path in _served_sources()]
    takes_code = {
        function.name: [argument.arg for argument in function.args.args].index("code")
        for tree in trees
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        and "code" in [argument.arg for argument in function.args.args]
    }
    codes = set()
    for tree in trees:
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef):
                codes |= _codes_passed(function, takes_code)
    return codes


def _codes_passed(function: ast.FunctionDef, takes_code: dict[str, int]) -> set[str]:
    """Return the string codes *function* passes to the functions of *takes_code*."""
    assigned: dict[str, set[str]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and _is_string(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, set()).add(node.value.value)
    codes = set()
    for call in ast.walk(function):
        if not isinstance(call, ast.Call):
            continue
        name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
        if name not in takes_code:
            continue
        position = takes_code[name]
        given = [kw.value for kw in call.keywords if kw.arg == "code"]
        if len(call.args) > position:
            given.append(call.args[position])
        for value in given:
            if _is_string(value):
                codes.add(value.value)
            elif isinstance(value, ast.Name):
                codes |= assigned.get(value.id, set())
    return codes


def _is_string(node: ast.expr) -> bool:
    """Return whether *node* is a string literal."""
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _served_sources() -> Iterator:
    """Yield the Python files of the served packages, their tests and migrations aside."""
    for package in SERVED_PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            parts = path.relative_to(REPO_ROOT).parts
            if "tests" not in parts and "migrations" not in parts:
                yield path


def _nginx_codes() -> set[str]:
    """Return the codes of the JSON answers nginx gives itself (413, 502, 504)."""
    return {
        code
        for template in NGINX_TEMPLATES.glob("*.template")
        for code in JSON_CODE.findall(template.read_text())
    }


def served_metric_names() -> set[str]:
    """Return the name of every metric ``GET /metrics`` serves under gunicorn.

    gunicorn's answer adds up the project's metrics from every worker and
    reads the process metrics and the database's gauges; the default
    registry of a process outside gunicorn also has prometheus-client's
    garbage-collector and platform metrics, which gunicorn's leaves out.
    """
    in_process_only = {
        family.name
        for collector in (GC_COLLECTOR, PLATFORM_COLLECTOR)
        for family in collector.collect()
    }
    families = [*REGISTRY.collect(), *DatabaseCollector().collect()]
    return {_exposed_name(family) for family in families if family.name not in in_process_only}


def _exposed_name(family: Metric) -> str:
    """Return the name *family* is served under: a counter's ends in ``_total``."""
    return f"{family.name}_total" if family.type == "counter" else family.name


# --- mkdocs.yml ------------------------------------------------------------------


def _nav_pages(nav: list) -> Iterator[str]:
    """Yield every page file the nav lists, at any depth."""
    for entry in nav:
        for value in entry.values() if isinstance(entry, dict) else [entry]:
            if isinstance(value, list):
                yield from _nav_pages(value)
            else:
                yield value
