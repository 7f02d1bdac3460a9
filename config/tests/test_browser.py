"""A real browser against the real production stack.

What is real here: gunicorn started from ``gunicorn.conf.py`` with ``DEBUG``
off and a random ``SECRET_KEY``, on a database built by ``migrate`` and
``seed_orders``, serving the static files that ``collectstatic`` wrote
(hashed names, compressed, through whitenoise), to Debian's headless
Chromium driven by chromedriver. Swagger UI and ReDoc run their JavaScript
against the schema the service generates, and the "Try it out" request is a
real ``fetch`` from the page to ``POST /rules/check/``. Nothing is mocked;
every request goes to 127.0.0.1.
"""

import json
import os
import tempfile
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from config.tests.servers import http_request, manage

pytestmark = [pytest.mark.browser, pytest.mark.server]

# Debian's packages by default; CI runners without them point these at their Chrome.
CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    # Any host but the loopback fails to resolve: the page may fetch nothing else.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    "--window-size=1280,1024",
]
WAIT_SECONDS = 20
# Run in every page before its own scripts: what the page's Content-Security-Policy
# refused, as the browser reports it (the console says so as well).
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
    window.cspViolations.push(event.effectiveDirective + " " + event.blockedURI);
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """Return a headless Chromium with a fresh profile, closed after the module."""
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(WAIT_SECONDS)
        driver.set_script_timeout(WAIT_SECONDS)
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP_VIOLATIONS}
        )
        try:
            yield driver
        finally:
            driver.quit()


def wait(driver: webdriver.Chrome) -> WebDriverWait:
    """Return a bounded wait on *driver*."""
    return WebDriverWait(driver, WAIT_SECONDS)


def console_errors(driver: webdriver.Chrome, origin: str) -> list[str]:
    """Return (and clear) the page's console errors since the last call.

    Two kinds are left out. The browser's own ``/favicon.ico`` probe: a page
    without an icon gets the API's JSON 404 for it, as any unknown path does.
    And loads from other hosts, which ``--host-resolver-rules`` blocks: ReDoc
    fetches its "API docs by Redocly" logo from cdn.redoc.ly.
    """
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE"
        and not entry["message"].startswith(f"{origin}/favicon.ico ")
        and not (
            "net::ERR_NAME_NOT_RESOLVED" in entry["message"]
            and not entry["message"].startswith(origin)
        )
    ]


def csp_violations(driver: webdriver.Chrome) -> list[str]:
    """Return what the current page's Content-Security-Policy refused so far."""
    return driver.execute_script("return window.cspViolations;")


def operation(driver: webdriver.Chrome, method: str, path: str) -> WebElement:
    """Return Swagger UI's block of the operation *method* *path*."""
    return driver.find_element(
        By.XPATH,
        f"//div[contains(@class, 'opblock-{method.lower()}')]"
        f"[.//*[contains(@class, 'opblock-summary-path') and @data-path='{path}']]",
    )


def log_in_to_admin(driver: webdriver.Chrome, origin: str, username: str, password: str) -> None:
    """Log in to the admin at *origin* afresh, landing on the rule sets' list."""
    driver.get(f"{origin}/admin/login/")
    driver.delete_all_cookies()
    driver.get(f"{origin}/admin/login/?next=/admin/rules/ruleset/")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()


def test_swagger_ui_lists_the_operations_of_the_schema(browser, gunicorn_server):
    console_errors(browser, gunicorn_server)
    browser.get(f"{gunicorn_server}/")

    wait(browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".opblock .opblock-summary-path"))
    )
    operations = {
        (
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text,
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute(
                "data-path"
            ),
        )
        for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")
    }

    assert ("POST", "/rules/check/") in operations
    assert ("GET", "/rules/") in operations
    assert ("GET", "/health/") in operations
    assert browser.find_element(By.CSS_SELECTOR, ".info .title").text.startswith(
        "Pluggable Rule Engine API"
    )
    assert console_errors(browser, gunicorn_server) == []
    assert csp_violations(browser) == []


def test_swagger_ui_try_it_out_checks_a_seeded_order(browser, gunicorn_server):
    browser.get(f"{gunicorn_server}/")
    check = wait(browser).until(lambda driver: operation(driver, "POST", "/rules/check/"))

    check.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait(browser).until(lambda _: check.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
    body = wait(browser).until(
        lambda _: check.find_element(By.CSS_SELECTOR, "textarea.body-param__text")
    )
    # Type over the selected example: an emptied box would be refilled with "{}".
    body.send_keys(Keys.CONTROL, "a")
    body.send_keys(json.dumps({"order_id": 2, "rules": ["min_total_100", "divisible_by_5"]}))
    check.find_element(By.CSS_SELECTOR, "button.execute").click()
    outcome = wait(browser).until(
        lambda _: check.find_elements(
            By.CSS_SELECTOR, ".validation-errors, .live-responses-table .response"
        )
    )

    assert "validation-errors" not in outcome[0].get_attribute("class"), outcome[0].text
    status = check.find_element(
        By.CSS_SELECTOR, ".live-responses-table .response .response-col_status"
    )
    response_body = check.find_element(
        By.CSS_SELECTOR, ".live-responses-table .response .highlight-code code"
    )

    assert status.text.strip() == "200"
    assert csp_violations(browser) == []
    verdict = json.loads(response_body.text)
    assert verdict["passed"] is False
    assert verdict["details"] == {"min_total_100": False, "divisible_by_5": False}


def test_redoc_renders_the_api_title(browser, gunicorn_server):
    console_errors(browser, gunicorn_server)
    browser.get(f"{gunicorn_server}/redoc/")

    title = wait(browser).until(
        ec.presence_of_element_located(
            (By.XPATH, "//h1[contains(., 'Pluggable Rule Engine API')]")
        )
    )

    assert title.is_displayed()
    assert browser.find_elements(By.XPATH, "//*[contains(text(), '/rules/check/')]")
    assert console_errors(browser, gunicorn_server) == []
    assert csp_violations(browser) == []


def test_admin_login_page_is_styled_by_static_files_from_whitenoise(browser, gunicorn_server):
    console_errors(browser, gunicorn_server)
    browser.get(f"{gunicorn_server}/admin/login/")
    wait(browser).until(ec.presence_of_element_located((By.ID, "login-form")))

    sheets = browser.execute_script(
        """
        return Array.from(document.styleSheets)
            .filter(sheet => sheet.href)
            .map(sheet => ({href: new URL(sheet.href).pathname,
                            rules: sheet.cssRules.length}));
        """
    )
    header_background = browser.execute_script(
        "return getComputedStyle(document.getElementById('header')).backgroundColor;"
    )

    admin_sheets = [sheet for sheet in sheets if sheet["href"].startswith("/static/admin/css/")]
    assert any(
        sheet["href"].startswith("/static/admin/css/base.") and sheet["rules"] > 0
        for sheet in admin_sheets
    ), sheets
    assert all(sheet["rules"] > 0 for sheet in admin_sheets), sheets
    assert header_background not in ("", "transparent", "rgba(0, 0, 0, 0)")
    assert console_errors(browser, gunicorn_server) == []
    assert csp_violations(browser) == []


def test_the_pages_policy_refuses_a_script_written_into_the_page(browser, gunicorn_server):
    browser.get(f"{gunicorn_server}/admin/login/")
    wait(browser).until(ec.presence_of_element_located((By.ID, "login-form")))

    ran = browser.execute_script(
        """
        const script = document.createElement("script");
        script.textContent = "window.injected = true;";
        document.head.appendChild(script);
        return window.injected === true;
        """
    )

    assert ran is False
    assert csp_violations(browser) == ["script-src-elem inline"]
    console_errors(browser, gunicorn_server)


ADMIN_PASSWORD = "preview-admin-password-1234"
# An operator who may edit rule sets and nothing else: the preview and the
# backtest must answer their session, not only a superuser's.
SETUP_RULESET = f"""
from django.contrib.auth.models import Permission, User
from rules.models import RuleSet, RuleSetItem
from rules.services import ruleset_publish
operator = User.objects.create_user("operator", password="{ADMIN_PASSWORD}", is_staff=True)
operator.user_permissions.set(Permission.objects.filter(
    codename__in=["view_ruleset", "change_ruleset", "add_rulesetitem", "change_rulesetitem",
                  "delete_rulesetitem", "view_rulesetitem"]
))
ruleset = RuleSet.objects.create(name="checkout")
RuleSetItem.objects.create(ruleset=ruleset, rule="min_total_100")
ruleset_publish(ruleset=ruleset)
"""


def test_admin_previews_a_rule_set_change_before_saving(browser, gunicorn_site, gunicorn_server):
    _, env = gunicorn_site
    manage(env, "shell", "--command", SETUP_RULESET)
    log_in_to_admin(browser, gunicorn_server, "operator", ADMIN_PASSWORD)
    wait(browser).until(ec.element_to_be_clickable((By.LINK_TEXT, "checkout"))).click()

    rule = wait(browser).until(ec.presence_of_element_located((By.ID, "id_items-0-rule")))
    rule.clear()
    rule.send_keys("total_greater_than")
    params = browser.find_element(By.ID, "id_items-0-params")
    params.clear()
    params.send_keys('{"amount": "160.00"}')
    browser.find_element(By.ID, "ruleset-preview-button").click()
    result = wait(browser).until(
        lambda driver: (
            driver.find_element(By.ID, "ruleset-preview-result").text.count("\n") >= 3
            and driver.find_element(By.ID, "ruleset-preview-result")
        )
    )

    backtest = wait(browser).until(
        lambda driver: (
            driver.find_element(By.ID, "ruleset-backtest-result").text.count("\n") >= 3
            and driver.find_element(By.ID, "ruleset-backtest-result")
        )
    )

    assert "Passing now: 2 — passing after: 1" in result.text
    assert "Would newly fail: 1 [1]" in result.text
    assert "Would newly pass: 0 []" in result.text
    assert "Recorded decisions of the last 7 days: 0" in backtest.text
    assert "Pass → fail: 0 []" in backtest.text
    assert csp_violations(browser) == []
    ruleset = http_request(f"{gunicorn_server}/rulesets/checkout/").json()
    assert ruleset["items"][0]["name"] == "min_total_100"


AUDITOR_PASSWORD = "versions-auditor-password-1234"
SETUP_VERSIONED_RULESET = f"""
from django.contrib.auth.models import User
from rules.models import RuleSet, RuleSetItem
from rules.services import ruleset_publish
User.objects.create_superuser("auditor", "auditor@example.com", "{AUDITOR_PASSWORD}")
ruleset = RuleSet.objects.create(name="audited")
item = RuleSetItem.objects.create(
    ruleset=ruleset, rule="total_greater_than", params={{"amount": "100.00"}}
)
ruleset_publish(ruleset=ruleset, by="auditor")
item.params = {{"amount": "160.00"}}
item.save()
ruleset_publish(ruleset=ruleset, by="auditor")
"""


def test_admin_restores_an_older_rule_set_version(
    browser, gunicorn_site, gunicorn_server, tmp_path
):
    _, env = gunicorn_site
    manage(env, "shell", "--command", SETUP_VERSIONED_RULESET)
    log_in_to_admin(browser, gunicorn_server, "auditor", AUDITOR_PASSWORD)
    wait(browser).until(ec.element_to_be_clickable((By.LINK_TEXT, "audited"))).click()
    console_errors(browser, gunicorn_server)

    second = wait(browser).until(ec.presence_of_element_located((By.ID, "ruleset-version-2")))
    second_text = second.text
    browser.find_element(By.CSS_SELECTOR, "#ruleset-version-1 button[type=submit]").click()
    third = wait(browser).until(ec.presence_of_element_located((By.ID, "ruleset-version-3")))
    browser.execute_script(
        "arguments[0].scrollIntoView({behavior: 'instant'});",
        browser.find_element(By.ID, "ruleset-versions"),
    )
    browser.save_screenshot(str(tmp_path / "ruleset-versions.png"))

    assert "(current)" in second_text
    assert 'Changed total_greater_than: params {"amount": "100.00"} → {"amount": "160.00"}' in (
        second_text
    )
    message = browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    assert "Version 1 restored as version 3." in message
    assert "auditor" in third.text
    assert "(current)" in third.text
    assert 'Changed total_greater_than: params {"amount": "160.00"} → {"amount": "100.00"}' in (
        third.text
    )
    assert "Restore this version" not in third.text
    assert (tmp_path / "ruleset-versions.png").stat().st_size > 0
    versions = http_request(f"{gunicorn_server}/rulesets/audited/versions/").json()
    assert [version["version"] for version in versions] == [3, 2, 1]
    assert versions[0]["items"] == versions[2]["items"]
    assert versions[0]["items"] != versions[1]["items"]
    assert console_errors(browser, gunicorn_server) == []
    assert csp_violations(browser) == []


GLANCE_PASSWORD = "glance-viewer-password-1234"
SETUP_DECISIONS = f"""
from datetime import timedelta
from django.contrib.auth.models import User
from django.utils import timezone
from decisions.models import Decision
User.objects.create_superuser("glance", "glance@example.com", "{GLANCE_PASSWORD}")
# The session's site holds the decisions of earlier tests (Swagger's try-it-out): only these count.
Decision.objects.all().delete()
now = timezone.now()
for days_ago, outcomes in [
    (0, {{"min_total_100": "failed", "min_items_2": "failed"}}),
    (1, {{"min_total_100": "error"}}),
    (5, {{"min_total_100": "failed", "divisible_by_5": "failed"}}),
]:
    Decision.objects.create(
        decided_at=now - timedelta(days=days_ago), caller="anonymous", rules=[], results=[],
        snapshot={{"total": "1.00", "items_count": 1, "created_at": now.isoformat()}},
        outcomes=outcomes, passed=False,
    )
"""


def test_admin_shows_the_rules_at_a_glance_as_a_chart(
    browser, gunicorn_site, gunicorn_server, tmp_path
):
    _, env = gunicorn_site
    manage(env, "shell", "--command", SETUP_DECISIONS)
    log_in_to_admin(browser, gunicorn_server, "glance", GLANCE_PASSWORD)
    # The admin draws object tools in capitals: find the link by its address.
    glance = (By.CSS_SELECTOR, ".object-tools a[href$='/ruleset/glance/']")
    wait(browser).until(ec.element_to_be_clickable(glance)).click()

    chart = wait(browser).until(ec.visibility_of_element_located((By.ID, "glance-chart")))
    browser.save_screenshot(str(tmp_path / "rules-at-a-glance.png"))
    series = chart.find_elements(By.CSS_SELECTOR, "g.glance-series")
    points = chart.find_elements(By.CSS_SELECTOR, "circle.glance-point")
    top = browser.find_elements(By.CSS_SELECTOR, "#glance-top tbody tr")

    assert [line.get_attribute("data-rule") for line in series] == [
        "min_total_100",
        "divisible_by_5",
        "min_items_2",
    ]
    assert len(points) == 3 * 14
    assert all(point.rect["width"] > 0 for point in points)
    assert top[0].text.split() == ["min_total_100", "2", "1"]
    assert (tmp_path / "rules-at-a-glance.png").stat().st_size > 0
    assert console_errors(browser, gunicorn_server) == []
    assert csp_violations(browser) == []
