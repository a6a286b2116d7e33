"""The core flow of a secretary in a real browser (issue: client register, item 14):
search for the client while typing, open the card, add an activity with a contact person,
see it in today's calendar and on the front page."""

from __future__ import annotations

import re


def test_search_card_activity_calendar_dashboard(live_server, chromium_page, make_tenant,
                                                 make_user, make_client):
    tenant = make_tenant("Brauseri OÜ", host="127.0.0.1")
    make_user(tenant, "secretary", email="liis@brauser.ee", name="Liis Õunapuu")
    make_client(tenant, "Õunaaed OÜ", registry_code="10137319",
                contacts=[("Terje", "Tamm", "juhatuse liige")])
    make_client(tenant, "Muu Firma AS")
    page = chromium_page

    live_server.log_in(page, "liis@brauser.ee")

    # Search while typing, without Estonian letters, and open the card from the results.
    page.goto(live_server.url + "/clients")
    page.fill("#client-search", "ounaa")
    result = page.locator("#search-results a[role=option]").first
    result.wait_for()
    assert result.inner_text().startswith("Õunaaed OÜ")
    assert page.locator("#search-results a[role=option]").count() == 1
    result.click()
    page.wait_for_url(re.compile(r".*/clients/\d+$"))
    assert "Õunaaed OÜ" in page.locator("#client-header").inner_text()

    # Add an activity with the contact person on the activities tab.
    page.locator("nav.tabs a[href$='/activities']").click()
    page.wait_for_url(re.compile(r".*/activities$"))
    form = page.locator("#activity-form")
    form.locator("[name=name]").fill("Tagasihelistamine hinnapakkumise asjus")
    form.locator("[name=type_id]").select_option(label="Telefonikõne")
    form.locator("[name=person_id]").select_option(label="Terje Tamm (juhatuse liige)")
    form.locator("button[type=submit].primary").click()
    page.wait_for_load_state()
    assert page.locator(".flash-success").is_visible()
    assert "Tagasihelistamine hinnapakkumise asjus" in page.content()

    # Today's calendar (day view) and the front page show it.
    page.goto(live_server.url + "/calendar?view=day")
    calendar = page.locator("main").inner_text()
    assert "Tagasihelistamine hinnapakkumise asjus" in calendar
    assert "Õunaaed OÜ" in calendar
    page.goto(live_server.url + "/")
    assert "Tagasihelistamine hinnapakkumise asjus" in page.locator("main").inner_text()
