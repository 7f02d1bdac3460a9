"""Admin logins: failures lock a user name out at the address that failed, a spray the address."""

import logging
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
PASSWORD = "the-right-password-1234"
LOCKED = "Account locked: too many login attempts. Please try again later."


@pytest.fixture(autouse=True)
def _fast_password_hashes(settings) -> None:
    """Hash passwords cheaply: these tests log in dozens of times."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator(django_user_model):
    """Create a staff user who may log in to the admin."""
    return django_user_model.objects.create_user(
        username="operator", password=PASSWORD, is_staff=True
    )


def _login(client, username: str, password: str, address: str = "192.0.2.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_failures_lock_the_name_out_at_that_address_even_with_the_right_password(
    client, operator, caplog
):
    with caplog.at_level(logging.WARNING, logger="api.lockouts"):
        failures = [_login(client, "operator", "wrong").status_code for _ in range(4)]
        fifth = _login(client, "operator", "wrong")
        right = _login(client, "operator", PASSWORD)

    assert failures == [200, 200, 200, 200]
    assert (fifth.status_code, fifth.content.decode()) == (429, LOCKED)
    assert (right.status_code, right.content.decode()) == (429, LOCKED)
    failed, locked = "login failed", "login locked out"
    assert [(r.getMessage(), r.username, r.client_ip) for r in caplog.records] == [
        *[(failed, "operator", "192.0.2.1")] * 4,
        (locked, "operator", "192.0.2.1"),
        (failed, "operator", "192.0.2.1"),
        (locked, "operator", "192.0.2.1"),
        (failed, "operator", "192.0.2.1"),
    ]


def test_failures_for_one_user_from_many_addresses_lock_nobody_out(client, operator):
    for index in range(5):
        _login(client, "operator", "wrong", address=f"192.0.2.{index + 10}")

    response = _login(client, "operator", PASSWORD, address="198.51.100.1")

    assert response.status_code == 302


def test_a_user_locked_out_at_one_address_logs_in_from_another(client, operator):
    for _ in range(5):
        _login(client, "operator", "wrong", address="203.0.113.5")

    there = _login(client, "operator", PASSWORD, address="203.0.113.5")
    elsewhere = _login(client, "operator", PASSWORD, address="198.51.100.1")

    assert there.status_code == 429
    assert elsewhere.status_code == 302


def test_one_users_failures_leave_the_others_at_the_same_address_alone(
    client, operator, django_user_model
):
    django_user_model.objects.create_user(username="colleague", password=PASSWORD, is_staff=True)
    for _ in range(5):
        _login(client, "operator", "wrong", address="203.0.113.5")

    response = _login(client, "colleague", PASSWORD, address="203.0.113.5")

    assert response.status_code == 302


def test_a_spray_over_many_names_locks_the_address_out_at_its_own_limit(
    client, operator, settings
):
    """An operator's login in the middle of the spray does not wipe its count out."""
    settings.ADMIN_ADDRESS_FAILURE_LIMIT = 8
    for index in range(7):
        _login(client, f"guess{index}", "wrong", address="203.0.113.5")
    below = _login(client, "operator", PASSWORD, address="203.0.113.5")
    client.logout()
    _login(client, "guess7", "wrong", address="203.0.113.5")

    locked = _login(client, "operator", PASSWORD, address="203.0.113.5")
    elsewhere = _login(client, "operator", PASSWORD, address="198.51.100.1")

    assert below.status_code == 302
    assert (locked.status_code, locked.content.decode()) == (429, LOCKED)
    assert elsewhere.status_code == 302


def test_a_success_resets_the_count(client, operator):
    for _ in range(4):
        _login(client, "operator", "wrong")
    success = _login(client, "operator", PASSWORD)
    client.logout()
    after = [_login(client, "operator", "wrong").status_code for _ in range(4)]

    assert success.status_code == 302
    assert after == [200, 200, 200, 200]


def test_the_lockout_ends_after_its_cool_off(client, operator):
    for _ in range(5):
        _login(client, "operator", "wrong")
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    response = _login(client, "operator", PASSWORD)

    assert response.status_code == 302
