"""A real browser (headless Debian Chromium) against a real HTTP server: log in, see the dashboard.

The page must work under the strict CSP: a blocked inline script or style would show up as a console error.
"""
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SCREENSHOT = "/tmp/saas-portal-dashboard.png"


@pytest.fixture()
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 800})
        browser_page = context.new_page()
        browser_page.set_default_timeout(15000)
        yield browser_page
        context.close()
        browser.close()


def test_admin_logs_in_and_sees_the_dashboard(page, live_server, make_tenant, make_user):
    tenant = make_tenant(name="Zestgroup Proef")
    admin, password = make_user(tenant=tenant, name="Anna de Vries")
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(f"{live_server}/{tenant.slug}/")
    assert page.url.startswith(f"{live_server}/login?next=")
    page.get_by_label("E-mailadres").fill(admin.email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()

    page.wait_for_url(f"{live_server}/{tenant.slug}/")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.locator(".brand__name").inner_text() == "Zestgroup Proef"
    nav = page.get_by_role("navigation", name="Hoofdmenu")
    assert nav.get_by_role("link", name="Gebruikers").is_visible()
    # The stylesheet loaded (the header is coloured, not the browser default).
    assert page.locator(".site-header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(29, 78, 137)"
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert problems == []


def test_language_switch_and_logout_in_the_browser(page, live_server, make_tenant, make_user):
    tenant = make_tenant(name="Kantoor Proef")
    admin, password = make_user(tenant=tenant)
    page.goto(f"{live_server}/login")
    page.get_by_role("button", name="English", exact=True).click()
    page.get_by_label("Email address").fill(admin.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/{tenant.slug}/")
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Users").click()
    assert page.get_by_role("heading", name="Users and roles").is_visible()
    page.locator("summary.user-menu__toggle").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server}/login")
    assert page.get_by_text("You have been logged out.").is_visible()
