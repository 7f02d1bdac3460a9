"""The stand-in risk service's command: what it serves, and the options it refuses."""

import os
import re
import signal
import subprocess
import sys
from argparse import ArgumentTypeError
from pathlib import Path

import httpx
import pytest

from rules.management.commands.risk_service import customer_score, score
from rules.risk_service import RiskService

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "parsed"), [("C-1=85", ("C-1", 85)), ("C-1=0", ("C-1", 0))])
def test_a_score_option_names_a_customer_and_a_score(text, parsed):
    assert customer_score(text) == parsed


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("C-1", "expected CUSTOMER=SCORE"),
        ("=85", "expected CUSTOMER=SCORE"),
        ("C-1=", "a score is a whole number from 0 to 100"),
        ("C-1=101", "a score is a whole number from 0 to 100"),
        ("C-1=-5", "a score is a whole number from 0 to 100"),
        ("C-1=high", "a score is a whole number from 0 to 100"),
    ],
)
def test_a_score_option_without_a_customer_or_a_score_of_0_to_100_is_refused(text, why):
    with pytest.raises(ArgumentTypeError, match=why):
        customer_score(text)


@pytest.mark.parametrize("text", ["101", "-1", "ten"])
def test_a_default_score_outside_0_to_100_is_refused(text):
    with pytest.raises(ArgumentTypeError, match="from 0 to 100"):
        score(text)


@pytest.mark.server
def test_the_command_serves_scores_by_customer_behind_its_token():
    command = [sys.executable, "manage.py", "risk_service", "--port", "0", "--score", "C-1=85"]
    process = subprocess.Popen(
        [*command, "--default-score", "30", "--token", "s3cret"],
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        announced = process.stdout.readline()
        url = re.search(r"http://\S+", announced).group()
        bearer = {"Authorization": "Bearer s3cret"}
        scored = httpx.post(url, json={"customer.id": "C-1"}, headers=bearer, timeout=5)
        other = httpx.post(url, json={"customer.id": "C-2"}, headers=bearer, timeout=5)
        refused = httpx.post(url, json={"customer.id": "C-1"}, timeout=5)
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=10)

    assert announced.startswith("Risk service listening on http://127.0.0.1:")
    assert (scored.status_code, scored.json()) == (200, {"score": 85})
    assert (other.status_code, other.json()) == (200, {"score": 30})
    assert (refused.status_code, refused.json()) == (401, {"error": "unauthorized"})
    assert rest.splitlines()[-1] == "Risk service stopped"
    assert process.returncode == 0


@pytest.mark.server
def test_the_command_stops_on_sigterm_as_on_ctrl_c():
    process = subprocess.Popen(
        [sys.executable, "manage.py", "risk_service", "--port", "0"],
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        text=True,
    )
    announced = process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=10)

    assert announced.startswith("Risk service listening on http://127.0.0.1:")
    assert rest.splitlines()[-1] == "Risk service stopped"
    assert process.returncode == 0


def test_the_service_answers_400_to_a_body_that_is_not_an_object_of_facts():
    service = RiskService().start()
    try:
        answered = httpx.post(service.url, json=["C-1"], timeout=5)
    finally:
        service.stop()

    assert (answered.status_code, answered.json()) == (
        400,
        {"error": "a JSON object of the order's facts is expected"},
    )
