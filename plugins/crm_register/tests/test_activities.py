"""Activities on the client card (C4) and the front-page widgets (D1-D3).

Everything goes through the real pages (WebTest on the app with a real database): the
card's activity form, the calendar, the front page and the announcements page.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from core.db import tenant_scope, utcnow
from core.models import Tenant
from core.testing import HookCalls
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.crm_register.activities import parse_local_datetime
from plugins.crm_register.models import (
    Activity,
    ActivityItem,
    ActivityType,
    Announcement,
    CatalogueItem,
    ClientPerson,
    Person,
)
from plugins.crm_register.numbering import next_number
from plugins.crm_register.views.widgets import birthday_dates

TZ = ZoneInfo("Europe/Tallinn")


def _today() -> dt.date:
    return utcnow().astimezone(TZ).date()


def _today_at(hour: int, minute: int = 0) -> str:
    """Today (tenant zone) at ``hour`` as a datetime-local value."""
    return f"{_today().isoformat()}T{hour:02d}:{minute:02d}"


def _type(dbsession, tenant, code: str) -> ActivityType:
    with tenant_scope(dbsession, tenant.id):
        return dbsession.scalar(sa.select(ActivityType).where(ActivityType.code == code))


def _activities(dbsession, tenant) -> list[Activity]:
    dbsession.rollback()  # see what the app committed
    with tenant_scope(dbsession, tenant.id):
        return list(dbsession.scalars(sa.select(Activity).order_by(Activity.number)))


def _person_id(dbsession, tenant, client) -> int:
    with tenant_scope(dbsession, tenant.id):
        return dbsession.scalar(sa.select(ClientPerson.person_id)
                                .where(ClientPerson.client_id == client.id))


def _activity_form(b, client, **values):
    form = b.get(f"/clients/{client.id}/activities").forms["activity-form"]
    for key, value in values.items():
        form[key] = value
    return form


def _limit_to_own_clients(dbsession, tenant):
    row = dbsession.get(Tenant, tenant.id)
    row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
    dbsession.commit()


@pytest.mark.hookspec("dashboard_widgets")
def test_add_activity_with_contact_person_shows_in_calendar_and_dashboard(
        browser, tenant, make_user, make_client, dbsession):
    user = make_user(tenant, "sales", name="Mari Maasikas")
    client = make_client(tenant, "Päikese OÜ", contacts=[("Terje", "Tamm", "raamatupidaja")])
    person_id = _person_id(dbsession, tenant, client)
    meeting = _type(dbsession, tenant, "meeting")
    b = browser(tenant, user)
    page = b.get(f"/clients/{client.id}/activities")
    form = page.forms["activity-form"]
    # The start defaults to now in the tenant's zone, the status to planned.
    default_start = parse_local_datetime(form["starts_at"].value, TZ)
    assert abs(default_start - utcnow()) < dt.timedelta(minutes=2)
    assert form["status"].value == "planned"
    form["name"] = "Lepingu arutelu"
    form["type_id"] = str(meeting.id)
    form["person_id"] = str(person_id)
    form["starts_at"] = _today_at(12)
    response = form.submit(status=303).follow()
    assert "Lepingu arutelu" in response.text and "Terje Tamm" in response.text

    [saved] = _activities(dbsession, tenant)
    assert saved.number == 1 and saved.client_id == client.id
    assert saved.person_id == person_id
    assert saved.performer_id == user.id and saved.created_by_id == user.id
    assert saved.starts_at == dt.datetime.combine(_today(), dt.time(12), tzinfo=TZ)
    assert saved.starts_at.tzinfo is not None
    assert saved.estimated_minutes == 60  # the type's usual duration

    day = b.get("/calendar", {"view": "day"})
    assert "Lepingu arutelu" in day.text and "Päikese OÜ" in day.text
    with HookCalls(b.app) as calls:
        front = b.get("/")
    assert calls.called("crm_register", "dashboard_widgets")
    widget = front.html.select_one("#widget-crm-today")
    assert widget is not None
    assert "12:00" in widget.text and "Lepingu arutelu" in widget.text
    assert widget.select_one(f'a[href$="/activities/{saved.id}"]') is not None


def test_kilometres_are_required_for_car_use(browser, tenant, make_user, make_client,
                                             dbsession):
    user = make_user(tenant, "sales")
    client = make_client(tenant, "Kauge Klient OÜ")
    visit = _type(dbsession, tenant, "visit")
    assert visit.requires_kilometres
    b = browser(tenant, user)
    page = _activity_form(b, client, name="Külastus Tartus", type_id=str(visit.id)).submit(
        status=400)
    error = page.html.select_one("#e-kilometres")
    assert error is not None and error.get_text(strip=True)
    assert _activities(dbsession, tenant) == []
    page.forms["activity-form"]["kilometres"] = "-5"
    page = page.forms["activity-form"].submit(status=400)
    assert page.html.select_one("#e-kilometres") is not None
    assert _activities(dbsession, tenant) == []
    page.forms["activity-form"]["kilometres"] = "184,5"
    page.forms["activity-form"].submit(status=303)
    [saved] = _activities(dbsession, tenant)
    assert saved.kilometres == Decimal("184.5")
    # Other types do not need kilometres.
    call = _type(dbsession, tenant, "call")
    _activity_form(b, client, name="Kõne", type_id=str(call.id)).submit(status=303)
    assert _activities(dbsession, tenant)[1].kilometres is None


def test_bad_input_is_refused_with_field_errors(browser, tenant, make_user, make_client,
                                                dbsession):
    user = make_user(tenant, "sales")
    client = make_client(tenant, "Vigane OÜ")
    call = _type(dbsession, tenant, "call")
    b = browser(tenant, user)
    page = _activity_form(b, client, name="", type_id=str(call.id), starts_at="homme",
                          estimated_minutes="-1").submit(status=400)
    for name in ("name", "starts_at", "estimated_minutes"):
        assert page.html.select_one(f"#e-{name}") is not None, name
    # 30 March 2025 03:30 does not exist in Tallinn (clocks jump from 03:00 to 04:00).
    page = _activity_form(b, client, name="Öine", type_id=str(call.id),
                          starts_at="2025-03-30T03:30").submit(status=400)
    assert page.html.select_one("#e-starts_at") is not None
    # A tampered follow-up reference is refused, not ignored.
    form = _activity_form(b, client, name="X", type_id=str(call.id))
    b.post(f"/clients/{client.id}/activities", {
        **dict(form.submit_fields()), "follow_up_of_id": "999999"}, status=400)
    assert _activities(dbsession, tenant) == []


def test_resources_are_saved_with_quantities(browser, tenant, make_user, make_client,
                                             dbsession):
    user = make_user(tenant, "sales")
    client = make_client(tenant, "Koolitus OÜ")
    service = _type(dbsession, tenant, "service")
    with tenant_scope(dbsession, tenant.id):
        items = {i.name: i.id for i in dbsession.scalars(sa.select(CatalogueItem))}
    b = browser(tenant, user)
    form = _activity_form(b, client, name="Koolituspäev", type_id=str(service.id))
    form.set("item_id", str(items["Projektor"]), index=0)
    form.set("quantity", "1", index=0)
    form.set("item_id", str(items["Koolitus"]), index=1)
    form.set("quantity", "2,5", index=1)
    form.set("quantity", "0", index=2)  # a quantity without an item
    page = form.submit(status=400)
    assert "Projektor" in page.text
    assert _activities(dbsession, tenant) == []
    form = page.forms["activity-form"]
    form.set("quantity", "", index=2)
    form.submit(status=303)
    [saved] = _activities(dbsession, tenant)
    with tenant_scope(dbsession, tenant.id):
        rows = dbsession.execute(sa.select(ActivityItem.item_id, ActivityItem.quantity)
                                 .where(ActivityItem.activity_id == saved.id)
                                 .order_by(ActivityItem.id)).all()
    assert [(i, q) for i, q in rows] == [(items["Projektor"], Decimal("1")),
                                         (items["Koolitus"], Decimal("2.5"))]
    # Editing keeps the rows and changes a quantity; a zero quantity is refused.
    edit = b.get(f"/activities/{saved.id}").forms["activity-form"]
    assert edit.get("quantity", index=1).value == "2.5"
    edit.set("quantity", "0", index=0)
    assert edit.submit(status=400).html.select_one("#activity-items .error") is not None
    edit.set("quantity", "3", index=0)
    edit.submit(status=303)
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        quantities = list(dbsession.scalars(
            sa.select(ActivityItem.quantity).where(ActivityItem.activity_id == saved.id)
            .order_by(ActivityItem.item_id)))
    assert sorted(quantities) == [Decimal("2.5"), Decimal("3")]


def test_numbers_are_sequential_per_tenant(browser, make_tenant, make_user, make_client,
                                           dbsession):
    first = make_tenant("Esimene OÜ", host="esimene.test")
    second = make_tenant("Teine OÜ", host="teine.test")
    for tenant, count in ((first, 3), (second, 2)):
        user = make_user(tenant, "sales")
        client = make_client(tenant, "Klient OÜ")
        call = _type(dbsession, tenant, "call")
        b = browser(tenant, user)
        for i in range(count):
            _activity_form(b, client, name=f"Kõne {i}", type_id=str(call.id)).submit(
                status=303)
    assert [a.number for a in _activities(dbsession, first)] == [1, 2, 3]
    assert [a.number for a in _activities(dbsession, second)] == [1, 2]


def test_edit_mark_done_and_follow_up(browser, tenant, make_user, make_client, dbsession):
    user = make_user(tenant, "sales")
    client = make_client(tenant, "Jätku OÜ", contacts=[("Teet", "Kask", "")])
    call = _type(dbsession, tenant, "call")
    b = browser(tenant, user)
    _activity_form(b, client, name="Esimene kõne", type_id=str(call.id),
                   starts_at=_today_at(12)).submit(status=303)
    [first] = _activities(dbsession, tenant)
    page = b.get(f"/activities/{first.id}")
    form = page.forms["activity-form"]
    assert form["starts_at"].value == _today_at(12)
    form["name"] = "Esimene kõne (muudetud)"
    form["actual_minutes"] = "12"
    form.submit(status=303)
    done = b.get(f"/activities/{first.id}").forms["activity-done-form"]
    done.submit(status=303)
    [first] = _activities(dbsession, tenant)
    assert (first.name, first.status, first.actual_minutes) == (
        "Esimene kõne (muudetud)", "done", 12)
    follow_link = b.get(f"/activities/{first.id}").html.select_one("#follow-up-link")["href"]
    follow = b.get(follow_link).forms["activity-form"]
    assert follow["name"].value == "Esimene kõne (muudetud)"
    assert follow["follow_up_of_id"].value == str(first.id)
    assert follow["status"].value == "planned"
    follow.submit(status=303)
    second = _activities(dbsession, tenant)[1]
    assert second.follow_up_of_id == first.id and second.number == 2
    assert second.starts_at > utcnow()
    assert "Esimene kõne" in b.get(f"/activities/{second.id}").text
    # Bad time spent is refused with a message, nothing changed.
    b.post(f"/activities/{second.id}/done", {"csrf_token": b.csrf_token,
                                              "actual_minutes": "palju"}, status=303)
    assert _activities(dbsession, tenant)[1].status == "planned"


def test_tab_lists_newest_first_with_paging(browser, tenant, make_user, make_client,
                                            dbsession):
    user = make_user(tenant, "manager")
    client = make_client(tenant, "Palju Tegevusi OÜ")
    call = _type(dbsession, tenant, "call")
    base = dt.datetime(2025, 1, 6, 10, tzinfo=TZ)
    with tenant_scope(dbsession, tenant.id):
        for i in range(35):
            dbsession.add(Activity(number=next_number(dbsession, "activity"), name=f"T{i:02d}",
                                   client_id=client.id, type_id=call.id, performer_id=user.id,
                                   starts_at=base + dt.timedelta(days=i)))
        dbsession.commit()
    b = browser(tenant, user)
    page = b.get(f"/clients/{client.id}/activities")
    names = [row.select("td")[3].a.get_text() for row in page.html.select("#activities tbody tr")]
    assert names[:2] == ["T34", "T33"] and len(names) == 30
    page2 = b.get(f"/clients/{client.id}/activities", {"page": "2"})
    assert len(page2.html.select("#activities tbody tr")) == 5


def test_salesperson_sees_only_own_clients_activities(browser, tenant, make_user, make_client,
                                                      dbsession):
    kadri = make_user(tenant, "sales", name="Kadri")
    tonu = make_user(tenant, "sales", name="Tõnu")
    mine = make_client(tenant, "Kadri Klient OÜ", salesperson_id=kadri.id)
    theirs = make_client(tenant, "Tõnu Klient OÜ", salesperson_id=tonu.id)
    call = _type(dbsession, tenant, "call")
    _activity_form(browser(tenant, tonu), theirs, name="Tõnu kõne", type_id=str(call.id),
                   starts_at=_today_at(12)).submit(status=303)
    [hidden] = _activities(dbsession, tenant)
    _limit_to_own_clients(dbsession, tenant)
    b = browser(tenant, kadri)
    _activity_form(b, mine, name="Kadri kõne", type_id=str(call.id),
                   starts_at=_today_at(12)).submit(status=303)
    b.get(f"/clients/{theirs.id}/activities", status=404)
    b.get(f"/activities/{hidden.id}", status=404)
    b.post(f"/activities/{hidden.id}/done", {"csrf_token": b.csrf_token}, status=404)
    b.post(f"/activities/{hidden.id}", {"csrf_token": b.csrf_token, "name": "x"}, status=404)
    for user_param in ("all", str(tonu.id)):
        page = b.get("/calendar", {"view": "week", "user": user_param})
        assert "Tõnu kõne" not in page.text
    assert "Kadri kõne" in b.get("/calendar", {"view": "month", "user": "all"}).text
    assert _activities(dbsession, tenant)[0].status == "planned"


def test_accountant_without_edit_right_cannot_post(browser, tenant, make_user, make_client,
                                                  dbsession):
    accountant = make_user(tenant, "accountant")
    client = make_client(tenant, "Raamatupidamine OÜ")
    b = browser(tenant, accountant)
    page = b.get(f"/clients/{client.id}/activities")
    assert "activity-form" not in page.forms
    b.post(f"/clients/{client.id}/activities", {"csrf_token": b.csrf_token, "name": "x"},
           status=403)
    assert _activities(dbsession, tenant) == []


# --- D2 birthdays ------------------------------------------------------------------------------

def _person(dbsession, tenant, client, first, last, birthday):
    with tenant_scope(dbsession, tenant.id):
        person = Person(first_name=first, last_name=last, birthday=birthday,
                        birthday_md=birthday.strftime("%m-%d"))
        dbsession.add(person)
        dbsession.flush()
        dbsession.add(ClientPerson(client_id=client.id, person_id=person.id, role=""))
        dbsession.commit()
        return person


def _years_ago(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@pytest.mark.hookspec("dashboard_widgets")
def test_birthdays_widget(browser, tenant, make_user, make_client, dbsession):
    today = _today()
    kadri = make_user(tenant, "sales", name="Kadri")
    tonu = make_user(tenant, "sales", name="Tõnu")
    make_user(tenant, "secretary", name="Sünnipäevalaps Sekretär",
              birthday=_years_ago(today, 30))
    make_user(tenant, "manager", name="Homne Juht",
              birthday=_years_ago(today + dt.timedelta(days=1), 40))
    mine = make_client(tenant, "Kadri Klient OÜ", salesperson_id=kadri.id)
    theirs = make_client(tenant, "Tõnu Klient OÜ", salesperson_id=tonu.id)
    _person(dbsession, tenant, mine, "Tänane", "Tähistaja", _years_ago(today, 50))
    _person(dbsession, tenant, mine, "Nädala", "Sees", _years_ago(today + dt.timedelta(days=5),
                                                                   33))
    _person(dbsession, tenant, mine, "Liiga", "Kaugel",
            _years_ago(today + dt.timedelta(days=9), 33))
    _person(dbsession, tenant, theirs, "Võõras", "Klient", _years_ago(today, 44))
    _limit_to_own_clients(dbsession, tenant)
    widget = browser(tenant, kadri).get("/").html.select_one("#widget-crm-birthdays")
    today_names = [li.get_text(" ", strip=True) for li in widget.select(".birthdays-today tr")]
    soon_names = [li.get_text(" ", strip=True) for li in widget.select(".birthdays-soon tr")]
    assert any("Tänane Tähistaja" in n and "Kadri Klient OÜ" in n for n in today_names)
    assert any("Sünnipäevalaps Sekretär" in n for n in today_names)
    assert any("Nädala Sees" in n for n in soon_names)
    assert any("Homne Juht" in n for n in soon_names)
    text = widget.get_text()
    assert "Liiga Kaugel" not in text
    assert "Võõras Klient" not in text  # another salesperson's client's contact
    # A manager sees every client's contacts.
    manager = make_user(tenant, "manager")
    assert "Võõras Klient" in browser(tenant, manager).get("/").text


def test_leap_day_birthdays_are_on_28_february_in_other_years():
    assert "02-29" in birthday_dates(dt.date(2025, 2, 25))
    assert birthday_dates(dt.date(2025, 2, 25))["02-29"] == dt.date(2025, 2, 28)
    assert birthday_dates(dt.date(2024, 2, 25))["02-29"] == dt.date(2024, 2, 29)
    assert len(birthday_dates(dt.date(2025, 12, 28))) == 8  # over the new year


# --- D3 announcements --------------------------------------------------------------------------

@pytest.mark.hookspec("dashboard_widgets")
def test_announcements_are_posted_and_expire(browser, tenant, make_user, dbsession):
    secretary = make_user(tenant, "secretary")
    sales = make_user(tenant, "sales")
    today = _today()
    with tenant_scope(dbsession, tenant.id):
        dbsession.add(Announcement(title="Eilne teade", expires_on=today - dt.timedelta(days=1)))
        dbsession.add(Announcement(title="Tänane teade", expires_on=today))
        dbsession.commit()
    b = browser(tenant, secretary)
    page = b.get("/announcements")
    form = page.forms["announcement-form"]
    form["title"] = "Jõulupidu 20. detsembril"
    form["body"] = "Kõik on oodatud!"
    form["expires_on"] = (today - dt.timedelta(days=2)).isoformat()
    page = form.submit(status=400)
    assert page.html.select_one("#e-expires_on") is not None
    page.forms["announcement-form"]["expires_on"] = (today + dt.timedelta(days=10)).isoformat()
    page.forms["announcement-form"].submit(status=303)

    seller = browser(tenant, sales)
    widget = seller.get("/").html.select_one("#widget-crm-announcements")
    assert "Jõulupidu 20. detsembril" in widget.text and "Tänane teade" in widget.text
    assert "Eilne teade" not in widget.text
    seller.get("/announcements", status=403)

    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        party = dbsession.scalar(sa.select(Announcement).where(
            Announcement.title.like("Jõulupidu%")))
    assert party.author_id == secretary.id
    b.post(f"/announcements/{party.id}/expire", {"csrf_token": b.csrf_token}, status=303)
    widget = seller.get("/").html.select_one("#widget-crm-announcements")
    assert "Jõulupidu" not in widget.text and "Tänane teade" in widget.text
    assert "Jõulupidu" in b.get("/announcements").text  # kept in the list, as expired
    b.post(f"/announcements/{party.id}/delete", {"csrf_token": b.csrf_token}, status=303)
    assert "Jõulupidu" not in b.get("/announcements").text
    b.post(f"/announcements/{party.id}/delete", {"csrf_token": b.csrf_token}, status=404)


def test_odd_ids_and_parameters_answer_cleanly(browser, tenant, make_user, make_client,
                                               dbsession):
    user = make_user(tenant, "manager")
    client = make_client(tenant, "Piiri OÜ")
    call = _type(dbsession, tenant, "call")
    b = browser(tenant, user)
    huge = "9" * 25
    b.get(f"/activities/{huge}", status=404)
    b.get(f"/clients/{client.id}/activities", {"follow_up": huge})
    b.get("/calendar", {"user": huge}, status=404)
    b.get("/calendar", {"date": "99999-01-01", "view": "month"})
    form = _activity_form(b, client, name="X", type_id=str(call.id))
    b.post(f"/clients/{client.id}/activities",
           {**dict(form.submit_fields()), "follow_up_of_id": huge}, status=400)
    b.post(f"/clients/{client.id}/activities",
           {**dict(form.submit_fields()), "estimated_minutes": huge,
            "item_id": huge, "quantity": "1"}, status=400)
    b.post(f"/announcements/{huge}/expire", {"csrf_token": b.csrf_token}, status=404)
    assert _activities(dbsession, tenant) == []
