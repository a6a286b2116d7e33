"""The core's key flows in a real browser: log in, switch language, enable a module."""

from __future__ import annotations

import re


def test_login_language_and_modules_in_a_browser(live_server, chromium_page, make_tenant,
                                                 make_user):
    tenant = make_tenant("Brauseri OÜ", host="127.0.0.1", plugins=[])
    make_user(tenant, "admin", email="mari@brauser.ee", name="Mari Tamm")
    page = chromium_page
    page.goto(live_server.url + "/admin/modules")
    assert "/login" in page.url
    page.fill("#f-email", "mari@brauser.ee")
    page.fill("#f-password", "vale parool")
    page.click("button.primary")
    assert page.locator(".form-error").is_visible()
    page.fill("#f-password", "correct horse battery")
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/admin/modules$"))
    assert page.locator("h1").inner_text() == "Moodulid"

    page.click(".langswitch button[value=en]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Modules"

    module = page.locator("section.module").first
    module.locator("button[value=enable]").click()
    page.wait_for_load_state()
    assert page.locator(".flash-success").is_visible()
    assert page.locator("section.module").first.locator("button[value=disable]").is_visible()

    page.goto(live_server.url + "/")
    assert page.locator("#widget-core-welcome").is_visible()
    page.click(".usermenu summary")
    page.click("text=Log out")
    page.wait_for_url(re.compile(r".*/login$"))
