"""The calendar (K1, K2) and the free-slot service used by the order flow (W2).

The free-slot cases are explicit: overlaps, back-to-back activities, the days daylight
saving time changes in Europe/Tallinn, weekends, several users; then the same service on
the database, and the calendar pages with day, week and month views.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from core.db import tenant_scope, utcnow
from core.models import Tenant
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.crm_register.calendar import (
    Slot,
    find_free_slots,
    free_slots,
    local_bounds,
    occupied_interval,
    period,
    shift,
    working_periods,
)
from plugins.crm_register.models import Activity, ActivityType
from plugins.crm_register.numbering import next_number
from plugins.crm_register.views import calendar as calendar_views

TZ = ZoneInfo("Europe/Tallinn")
HOUR = dt.timedelta(hours=1)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware Tallinn wall-clock time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)


def starts(slots: list[Slot]) -> list[str]:
    """Slot starts as local ``HH:MM`` (with the day when slots span several days)."""
    days = {s.start.date() for s in slots}
    fmt = "%H:%M" if len(days) <= 1 else "%a %H:%M"
    return [s.start.astimezone(TZ).strftime(fmt) for s in slots]


# --- the pure functions -------------------------------------------------------------------

# Wednesday 4 June 2025
WED = (2025, 6, 4)


def test_empty_day_gives_every_step_inside_working_hours():
    slots = find_free_slots([], HOUR, local(*WED, 0), local(*WED, 23, 59))
    assert starts(slots)[0] == "09:00" and starts(slots)[-1] == "16:00"
    assert len(slots) == 15  # 09:00, 09:30 ... 16:00
    assert all(s.end - s.start == HOUR for s in slots)
    assert all(s.start.tzinfo is not None and s.end.tzinfo is not None for s in slots)
    assert slots[0].start == dt.datetime(2025, 6, 4, 6, 0, tzinfo=dt.UTC)  # EEST, UTC+3


def test_overlapping_busy_intervals_block_every_slot_they_touch():
    busy = [(local(*WED, 10), local(*WED, 11)), (local(*WED, 10, 30), local(*WED, 12, 15))]
    slots = find_free_slots(busy, HOUR, local(*WED, 9), local(*WED, 17))
    assert starts(slots) == ["09:00", "12:30", "13:00", "13:30", "14:00", "14:30", "15:00",
                             "15:30", "16:00"]
    # A busy interval crossing a candidate's start, end or lying inside it blocks it.
    short = find_free_slots([(local(*WED, 9, 20), local(*WED, 9, 50)),
                             (local(*WED, 10, 10), local(*WED, 10, 20))],
                            dt.timedelta(minutes=30), local(*WED, 9), local(*WED, 11, 30))
    assert starts(short) == ["10:30", "11:00"]


def test_back_to_back_activities_leave_the_gap_between_them_free():
    busy = [(local(*WED, 9), local(*WED, 10)), (local(*WED, 11), local(*WED, 17))]
    slots = find_free_slots(busy, HOUR, local(*WED, 0), local(*WED, 23))
    assert slots == [Slot(local(*WED, 10), local(*WED, 11))]
    # Nothing fits when the gap is shorter than the duration.
    assert find_free_slots(busy, dt.timedelta(minutes=61), local(*WED, 0),
                           local(*WED, 23)) == []


def test_slots_start_on_the_step_grid_and_fit_in_the_window():
    slots = find_free_slots([], dt.timedelta(minutes=45), local(*WED, 10, 17),
                            local(*WED, 12, 0), step=dt.timedelta(minutes=15))
    assert starts(slots) == ["10:30", "10:45", "11:00", "11:15"]
    # A busy interval ending off the grid: the next slot starts on the next step.
    slots = find_free_slots([(local(*WED, 9), local(*WED, 9, 10))], dt.timedelta(minutes=30),
                            local(*WED, 9), local(*WED, 10, 30))
    assert starts(slots) == ["09:30", "10:00"]


def test_weekends_have_no_slots():
    # Friday 6 June 2025 15:00 to Monday 9 June 10:00
    slots = find_free_slots([], HOUR, local(2025, 6, 6, 15), local(2025, 6, 9, 10))
    assert starts(slots) == ["Fri 15:00", "Fri 15:30", "Fri 16:00", "Mon 09:00"]
    assert find_free_slots([], HOUR, local(2025, 6, 7), local(2025, 6, 9)) == []


def test_holidays_and_custom_working_hours():
    slots = find_free_slots([], HOUR, local(*WED, 0), local(2025, 6, 5, 23),
                            working_hours=(dt.time(8), dt.time(10)),
                            holidays={dt.date(2025, 6, 4)})
    assert starts(slots) == ["08:00", "08:30", "09:00"]
    assert {s.start.date() for s in slots} == {dt.date(2025, 6, 5)}  # Thursday only


def test_spring_dst_change_keeps_local_working_hours():
    # Clocks go forward on Sunday 30 March 2025 (03:00 EET -> 04:00 EEST).
    slots = find_free_slots([], 8 * HOUR, local(2025, 3, 28), local(2025, 4, 1))
    assert [s.start.strftime("%a %H:%M %z") for s in slots] == [
        "Fri 09:00 +0200", "Mon 09:00 +0300"]
    assert [s.start.astimezone(dt.UTC).hour for s in slots] == [7, 6]
    assert all(s.end - s.start == 8 * HOUR for s in slots)


def test_autumn_dst_change_and_working_hours_over_the_change():
    # Clocks go back on Sunday 26 October 2025 (04:00 EEST -> 03:00 EET).
    slots = find_free_slots([], 8 * HOUR, local(2025, 10, 24), local(2025, 10, 28))
    assert [s.start.strftime("%a %H:%M %z") for s in slots] == [
        "Fri 09:00 +0300", "Mon 09:00 +0200"]
    # Working all Sunday: the day has 25 hours, and durations are real elapsed time.
    every_day = set(range(7))
    slots = find_free_slots([], 2 * HOUR, local(2025, 10, 26), local(2025, 10, 26, 6),
                            working_hours=(dt.time(0), dt.time(6)), step=HOUR,
                            working_days=every_day)
    assert [s.start.astimezone(dt.UTC).strftime("%H:%M") for s in slots] == [
        "21:00", "22:00", "23:00", "00:00", "01:00", "02:00"]  # 00:00-06:00 is 7 real hours
    spring = find_free_slots([], HOUR, local(2025, 3, 30), local(2025, 3, 30, 6),
                             working_hours=(dt.time(0), dt.time(6)), step=HOUR,
                             working_days=every_day)
    assert len(spring) == 5  # the 23-hour day: 00:00 to 06:00 is 5 real hours
    assert [s.start.strftime("%H:%M") for s in spring] == [
        "00:00", "01:00", "02:00", "04:00", "05:00"]


def test_occupied_interval_rules():
    start = local(*WED, 10)
    assert occupied_interval(start, local(*WED, 12), 15) == (start, local(*WED, 12))
    assert occupied_interval(start, None, 45) == (start, local(*WED, 10, 45))
    assert occupied_interval(start, None, None) == (start, local(*WED, 10, 30))
    assert occupied_interval(start, None, 0) == (start, local(*WED, 10, 30))
    assert occupied_interval(start, start, None) == (start, local(*WED, 10, 30))


def test_bad_arguments_are_refused():
    naive = dt.datetime(2025, 6, 4, 9)
    with pytest.raises(ValueError, match="timezone-aware"):
        find_free_slots([], HOUR, naive, local(*WED, 17))
    with pytest.raises(ValueError, match="duration"):
        find_free_slots([], dt.timedelta(0), local(*WED, 9), local(*WED, 17))
    with pytest.raises(ValueError, match="step"):
        find_free_slots([], HOUR, local(*WED, 9), local(*WED, 17), step=dt.timedelta(0))
    with pytest.raises(ValueError, match="working hours"):
        working_periods(local(*WED, 9), local(*WED, 17),
                        working_hours=(dt.time(17), dt.time(9)))
    assert find_free_slots([], HOUR, local(*WED, 17), local(*WED, 9)) == []


def test_periods_of_the_calendar_views():
    day = dt.date(2025, 6, 4)
    assert period("day", day) == (day, dt.date(2025, 6, 5))
    assert period("week", day) == (dt.date(2025, 6, 2), dt.date(2025, 6, 9))
    assert period("month", day) == (dt.date(2025, 5, 26), dt.date(2025, 7, 7))
    assert period("month", dt.date(2025, 9, 15)) == (dt.date(2025, 9, 1), dt.date(2025, 10, 6))
    assert shift("month", dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 1)
    assert shift("month", dt.date(2025, 1, 31), -1) == dt.date(2024, 12, 1)
    assert shift("week", day, -1) == dt.date(2025, 5, 28)
    start, end = local_bounds(dt.date(2025, 3, 30), dt.date(2025, 3, 31), TZ)
    assert end - start == 23 * HOUR
    start, end = local_bounds(dt.date(2025, 10, 26), dt.date(2025, 10, 27), TZ)
    assert end - start == 25 * HOUR


# --- on the database ------------------------------------------------------------------------

def _add_activity(dbsession, tenant, *, performer, starts_at, type_code="meeting",
                  client=None, status="planned", minutes=None, ends_at=None, name="Tegevus",
                  actual=None):
    with tenant_scope(dbsession, tenant.id):
        kind = dbsession.scalar(sa.select(ActivityType).where(ActivityType.code == type_code))
        activity = Activity(number=next_number(dbsession, "activity"), name=name,
                            client_id=client.id if client else None, type_id=kind.id,
                            status=status, performer_id=performer.id, starts_at=starts_at,
                            ends_at=ends_at, estimated_minutes=minutes, actual_minutes=actual)
        dbsession.add(activity)
        dbsession.commit()
        return activity


def test_free_slots_of_several_users_from_the_database(tenant, make_tenant, make_user,
                                                       dbsession):
    mari = make_user(tenant, "sales")
    jaan = make_user(tenant, "sales")
    _add_activity(dbsession, tenant, performer=mari, starts_at=local(*WED, 9), minutes=90)
    _add_activity(dbsession, tenant, performer=jaan, starts_at=local(*WED, 11),
                  ends_at=local(*WED, 12))
    _add_activity(dbsession, tenant, performer=jaan, starts_at=local(*WED, 13),
                  status="done")  # no estimate: 30 minutes
    _add_activity(dbsession, tenant, performer=mari, starts_at=local(*WED, 14), minutes=120,
                  status="cancelled")  # cancelled: free time
    _add_activity(dbsession, tenant, performer=jaan, starts_at=local(*WED, 8), minutes=300,
                  status="in_progress")  # 08:00-13:00 for the second check
    other = make_tenant("Teine OÜ", host="teine.test")
    stranger = make_user(other, "sales")
    _add_activity(dbsession, other, performer=stranger, starts_at=local(*WED, 15), minutes=60)

    with tenant_scope(dbsession, tenant.id):
        window = (local(*WED, 9), local(*WED, 17))
        only_mari = free_slots(dbsession, [mari.id], HOUR, *window)
        assert starts(only_mari)[:2] == ["10:30", "11:00"]
        assert "14:00" in starts(only_mari)  # the cancelled activity does not occupy
        both = free_slots(dbsession, [mari.id, jaan.id], HOUR, *window)
        assert starts(both) == ["13:30", "14:00", "14:30", "15:00", "15:30", "16:00"]
        # Another tenant's activities are not read: 15:00 stays free for both.
        assert nobody_but_tenant(both)
        assert free_slots(dbsession, [], HOUR, *window) == find_free_slots([], HOUR, *window)
        # An activity starting before the window still occupies its end.
        late = free_slots(dbsession, [jaan.id], HOUR, local(*WED, 12), local(*WED, 17))
        assert starts(late)[0] == "13:30"


def nobody_but_tenant(slots: list[Slot]) -> bool:
    """True when the 15:00 slot (busy only in the other tenant) is offered."""
    return local(*WED, 15) in [s.start for s in slots]


# --- the calendar pages --------------------------------------------------------------------------

def _today_noon() -> dt.datetime:
    today = utcnow().astimezone(TZ).date()
    return dt.datetime.combine(today, dt.time(12), tzinfo=TZ)


def _items(page) -> list[str]:
    return [a.get_text(" ", strip=True) for a in page.html.select("a.cal-item")]


def test_day_view_is_the_daily_plan_with_time_spent(browser, tenant, make_user, make_client,
                                                    dbsession):
    user = make_user(tenant, "sales", name="Mari Maasikas")
    client = make_client(tenant, "Päikese OÜ")
    noon = _today_noon()
    _add_activity(dbsession, tenant, performer=user, client=client, starts_at=noon,
                  type_code="call", name="Helista Terjele", minutes=15, actual=20)
    _add_activity(dbsession, tenant, performer=user, client=client, starts_at=noon - 2 * HOUR,
                  name="Kohtumine Teeduga", minutes=60, actual=75)
    _add_activity(dbsession, tenant, performer=user, client=client,
                  starts_at=noon + dt.timedelta(days=1), name="Homne kõne", type_code="call")
    b = browser(tenant, user)
    page = b.get("/calendar", {"view": "day"})
    assert _items(page) == ["Kohtumine Teeduga", "Helista Terjele"]
    assert page.html.select_one("#time-spent").get_text(strip=True) == "95"
    assert "10:00–11:00" in page.text and "12:00–12:15" in page.text
    calls = b.get("/calendar", {"view": "day", "type": "call"})
    assert _items(calls) == ["Helista Terjele"]
    meetings = b.get("/calendar", {"view": "day", "type": "meeting"})
    assert _items(meetings) == ["Kohtumine Teeduga"]
    # The item opens the activity.
    link = page.html.select_one("a.cal-item")["href"]
    assert "Kohtumine Teeduga" in b.get(link).text
    # Next day, and bad parameters fall back with a notice instead of an error.
    tomorrow = b.get(page.html.select_one("#cal-next")["href"])
    assert _items(tomorrow) == ["Homne kõne"]
    odd = b.get("/calendar", {"view": "year", "date": "2025-02-30", "type": "nope"})
    assert odd.status_int == 200 and len(odd.html.select("p.notice")) == 3


def test_week_and_month_views_in_local_time_over_a_dst_change(browser, tenant, make_user,
                                                              dbsession):
    user = make_user(tenant, "manager")
    # Sunday 30 March 2025: 00:30 is still winter time, 23:30 summer time.
    _add_activity(dbsession, tenant, performer=user, starts_at=local(2025, 3, 30, 0, 30),
                  name="Öine töö")
    _add_activity(dbsession, tenant, performer=user, starts_at=local(2025, 3, 30, 23, 30),
                  name="Hiline töö")
    _add_activity(dbsession, tenant, performer=user, starts_at=local(2025, 3, 24, 9),
                  name="Esmaspäev")
    _add_activity(dbsession, tenant, performer=user, starts_at=local(2025, 3, 29, 23, 59),
                  name="Laupäeva lõpp")
    b = browser(tenant, user)
    day = b.get("/calendar", {"view": "day", "date": "2025-03-30"})
    assert _items(day) == ["Öine töö", "Hiline töö"]
    assert "00:30" in day.text and "23:30" in day.text
    # An activity without a client opens on a page of its own, and can be changed there.
    solo = b.get(day.html.select_one("a.cal-item")["href"])
    form = solo.forms["activity-form"]
    assert form["starts_at"].value == "2025-03-30T00:30"
    form["name"] = "Öine töö (tehtud)"
    form.submit(status=303)
    assert _items(b.get("/calendar", {"view": "day", "date": "2025-03-30"}))[0] == \
        "Öine töö (tehtud)"
    week = b.get("/calendar", {"view": "week", "date": "2025-03-27"})
    columns = week.html.select("#calendar-week .cal-day")
    assert len(columns) == 7
    assert columns[0].select_one("h2").get_text().endswith("24.3")
    assert columns[6].select_one("h2").get_text().endswith("30.3")
    column_items = [[a.get_text(" ", strip=True) for a in c.select("a.cal-item")]
                    for c in columns]
    assert column_items == [["09:00 Esmaspäev"], [], [], [], [], ["23:59 Laupäeva lõpp"],
                            ["00:30 Öine töö (tehtud)", "23:30 Hiline töö"]]
    month = b.get("/calendar", {"view": "month", "date": "2025-03-10"})
    cells = month.html.select("#calendar-month .cal-cell")
    assert len(cells) == 42  # 24 Feb to 6 April: six weeks
    assert "other-month" in cells[0]["class"] and "other-month" not in cells[5]["class"]
    assert len(month.html.select("#calendar-month a.cal-item")) == 4
    april = b.get(month.html.select_one("#cal-next")["href"])
    assert "date=2025-04-01" in april.request.url
    first_cell = april.html.select_one("#calendar-month .cal-cell")
    assert first_cell.select_one(".cal-date").get_text() == "31"  # Monday 31 March
    assert april.html.select("#calendar-month a.cal-item") == []


def _limit_to_own_clients(dbsession, tenant):
    row = dbsession.get(Tenant, tenant.id)
    row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
    dbsession.commit()


def test_team_calendar_respects_own_clients_only(browser, tenant, make_user, make_client,
                                                 dbsession):
    kadri = make_user(tenant, "sales", name="Kadri")
    tonu = make_user(tenant, "sales", name="Tõnu")
    boss = make_user(tenant, "manager", name="Juhan")
    mine = make_client(tenant, "Kadri Klient OÜ", salesperson_id=kadri.id)
    theirs = make_client(tenant, "Tõnu Klient OÜ", salesperson_id=tonu.id)
    noon = _today_noon()
    _add_activity(dbsession, tenant, performer=kadri, client=mine, starts_at=noon,
                  name="Kadri kõne")
    hidden = _add_activity(dbsession, tenant, performer=tonu, client=theirs, starts_at=noon,
                           name="Tõnu kohtumine")
    _add_activity(dbsession, tenant, performer=tonu, starts_at=noon, name="Tõnu sisetöö")
    _limit_to_own_clients(dbsession, tenant)
    b = browser(tenant, kadri)
    team = b.get("/calendar", {"view": "day", "user": "all"})
    assert _items(team) == ["Kadri kõne"]
    assert _items(b.get("/calendar", {"view": "day", "user": str(tonu.id)})) == []
    b.get(f"/activities/{hidden.id}", status=404)
    # A manager sees everything, including colleagues' internal tasks.
    manager = browser(tenant, boss).get("/calendar", {"view": "day", "user": "all"})
    assert sorted(_items(manager)) == ["Kadri kõne", "Tõnu kohtumine", "Tõnu sisetöö"]
    assert "Kadri" in manager.text  # the performer column of the team view


def test_colleague_calendar_needs_the_permission(browser, tenant, make_user, dbsession):
    from core.models import RolePermission
    from plugins.crm_register.permissions import CALENDAR_VIEW

    kadri = make_user(tenant, "sales")
    tonu = make_user(tenant, "sales")
    with tenant_scope(dbsession, tenant.id):
        dbsession.execute(sa.delete(RolePermission).where(
            RolePermission.role == "sales", RolePermission.permission == CALENDAR_VIEW))
        dbsession.commit()
    b = browser(tenant, kadri)
    assert b.get("/calendar").status_int == 200
    b.get("/calendar", {"user": "all"}, status=403)
    b.get("/calendar", {"user": str(tonu.id)}, status=403)
    assert b.get("/calendar", {"user": str(kadri.id)}).status_int == 200


def test_unknown_colleague_is_not_found(browser, tenant, make_tenant, make_user):
    other = make_tenant("Teine OÜ", host="teine.test")
    stranger = make_user(other, "sales")
    b = browser(tenant, make_user(tenant, "manager"))
    b.get("/calendar", {"user": str(stranger.id)}, status=404)
    assert re.search(r"Kalender|Calendar", b.get("/calendar", {"user": "me"}).text)


def test_busy_team_week_shows_a_day_in_part_and_links_the_rest(browser, tenant, make_user,
                                                                dbsession, monkeypatch):
    monkeypatch.setitem(calendar_views.PER_DAY_ITEMS, "week", 3)
    boss = make_user(tenant, "manager", name="Juhan")
    noon = _today_noon()
    for minute in range(5):
        _add_activity(dbsession, tenant, performer=boss, name=f"Kõne {minute}",
                      starts_at=noon + dt.timedelta(minutes=minute))
    _add_activity(dbsession, tenant, performer=boss, name="Homme",
                  starts_at=noon + dt.timedelta(days=1) if noon.weekday() < 6
                  else noon - dt.timedelta(days=1))
    b = browser(tenant, boss)
    page = b.get("/calendar", {"view": "week", "user": "all"})
    shown = _items(page)
    assert [s for s in shown if "Kõne" in s] == ["12:00 Kõne 0", "12:01 Kõne 1", "12:02 Kõne 2"]
    assert any("Homme" in s for s in shown)  # another day is not crowded out
    more = page.html.select("a.cal-more")
    assert [a.get_text(" ", strip=True) for a in more] == ["ja veel 2"]
    day = b.get(more[0]["href"])
    assert len([s for s in _items(day) if "Kõne" in s]) == 5
