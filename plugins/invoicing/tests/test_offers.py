"""Offers as a salesperson uses them (W3, C5): an offer from the client card with the
client's group discount, sent, accepted and made into a draft invoice in one step;
refusals that change nothing; numbering; another tenant's and hidden clients' offers."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import sqlalchemy as sa

from core.db import SQLITE_IMMEDIATE, make_engine, make_session_factory, tenant_scope
from core.models import Tenant, User
from plugins.crm_register.access import OWN_CLIENTS_ONLY
from plugins.crm_register.models import Client
from plugins.invoicing import offers as svc
from plugins.invoicing.invoices import InvoiceError, LineInput
from plugins.invoicing.models import (
    ClientDiscount,
    Invoice,
    Offer,
    OfferLine,
    Product,
    ProductGroup,
    Series,
)


def _setup(dbsession, tenant):
    """A product group with a chair in it and an installation service; returns their ids
    and the group's."""
    with tenant_scope(dbsession, tenant.id):
        group = ProductGroup(name="Mööbel")
        dbsession.add(group)
        dbsession.flush()
        chair = Product(code="TOOL", name="Tool", name_en="Chair", group_id=group.id,
                        price=Decimal("49.90"), vat_code="standard", unit_code="H87")
        install = Product(code="PAIGALDUS", name="Paigaldus", is_service=True,
                          price=Decimal("40.00"), vat_code="standard", unit_code="HUR")
        dbsession.add_all([chair, install])
        dbsession.commit()
        return chair.id, install.id, group.id


def _fresh(dbsession, tenant, model, row_id):
    dbsession.rollback()
    dbsession.expire_all()
    with tenant_scope(dbsession, tenant.id):
        return dbsession.get(model, row_id)


def _count(dbsession, tenant, model) -> int:
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        return dbsession.scalar(sa.select(sa.func.count()).select_from(model))


def _line_tuple(line):
    return (line.position, line.product_id, line.description, line.quantity, line.unit_code,
            line.unit_price, line.discount_percent, line.group_discount, line.vat_code,
            line.vat_category, line.vat_percent, line.net_amount)


def _offer_with_line(dbsession, tenant, client, user, product_id, *, issue_date, status):
    """An offer dated ``issue_date`` with one line of the product, moved to ``status``."""
    with tenant_scope(dbsession, tenant.id):
        offer = svc.new_offer(dbsession, dbsession.merge(client),
                              dbsession.get(User, user.id), issue_date)
        svc.add_offer_line(dbsession, offer, LineInput(product_id=product_id,
                                                       quantity=Decimal(1)))
        steps = {"draft": (), "sent": ("sent",), "accepted": ("sent", "accepted")}[status]
        for step in steps:
            svc.set_status(dbsession, offer, step, issue_date)
        dbsession.commit()
        return offer.id


def test_offer_with_group_discount_becomes_an_invoice_in_one_step(
        browser, tenant, make_user, make_client, dbsession):
    chair, install, group = _setup(dbsession, tenant)
    client = make_client(tenant, "Õun & Pirn OÜ", payment_term_days=7)
    with tenant_scope(dbsession, tenant.id):
        dbsession.add(ClientDiscount(client_id=client.id, group_id=group, percent=Decimal(10)))
        dbsession.commit()
    b = browser(tenant, make_user(tenant, "sales", locale="en"))
    tab = b.get(f"/clients/{client.id}/offers")
    assert "No offers yet." in tab.text
    assert tab.html.select_one("nav.tabs a[aria-current=page]").get_text() == "Offers"
    page = tab.forms["new-offer-form"].submit().follow()
    offer_id = int(page.request.path.rsplit("/", 1)[1])
    form = page.forms["line-form"]
    form["product_id"] = str(chair)
    form["quantity"] = "2"
    form["discount_percent"] = "25"  # the client's group discount wins
    page = form.submit().follow()
    form = page.forms["line-form"]
    form["product_id"] = str(install)
    form["quantity"] = "1,5"
    form["discount_percent"] = "5"
    page = form.submit().follow()

    offer = _fresh(dbsession, tenant, Offer, offer_id)
    assert (offer.number, offer.status) == (1, "draft")
    assert offer.valid_until == offer.issue_date + dt.timedelta(days=30)
    assert [(li.discount_percent, li.group_discount, li.net_amount) for li in offer.lines] == [
        (Decimal(10), True, Decimal("89.82")), (Decimal(5), False, Decimal("57.00"))]
    assert offer.total_net == Decimal("146.82")
    offer_lines = [_line_tuple(li) for li in offer.lines]
    offer_totals = (offer.total_net, offer.total_vat, offer.total)
    assert "P0001" in page.html.select_one("#offer-title").get_text()

    page = page.forms["status-form"].submit("status", value="sent").follow()
    assert "The offer was marked sent." in page.text
    page = page.forms["status-form"].submit("status", value="accepted").follow()
    assert _fresh(dbsession, tenant, Offer, offer_id).status == "accepted"

    made = page.forms["invoice-form"].submit()
    assert made.status_int == 303
    invoice_page = made.follow()
    invoice_id = int(invoice_page.request.path.rsplit("/", 1)[1])
    assert "A draft invoice was made of offer P0001" in invoice_page.text
    invoice = _fresh(dbsession, tenant, Invoice, invoice_id)
    assert (invoice.status, invoice.number, invoice.client_id) == ("draft", None, client.id)
    assert [_line_tuple(li) for li in invoice.lines] == offer_lines
    assert (invoice.total_net, invoice.total_vat, invoice.total) == offer_totals
    assert invoice.due_date == invoice.issue_date + dt.timedelta(days=7)
    offer = _fresh(dbsession, tenant, Offer, offer_id)
    assert (offer.status, offer.invoice_id) == ("invoiced", invoice_id)

    # A second conversion is refused and creates nothing.
    page = b.get(f"/offers/{offer_id}")
    assert "invoice-form" not in page.forms and "line-form" not in page.forms
    assert page.html.select_one("#invoice-link")["href"].endswith(f"/invoices/{invoice_id}")
    refused = b.post(f"/offers/{offer_id}/invoice", {"csrf_token": b.csrf_token}, status=400)
    assert "Offer P0001 has already been made into an invoice." in \
        refused.html.select_one("#offer-error").get_text()
    assert _count(dbsession, tenant, Invoice) == 1
    assert _fresh(dbsession, tenant, Offer, offer_id).invoice_id == invoice_id
    with tenant_scope(dbsession, tenant.id):
        with_lock = dbsession.get(Offer, offer_id)
        try:
            svc.offer_to_invoice(dbsession, with_lock, None)
        except InvoiceError as exc:
            assert "already" in str(exc)
        else:
            raise AssertionError("the second conversion was not refused")
    assert _count(dbsession, tenant, Invoice) == 1

    listing = b.get(f"/clients/{client.id}/offers")
    row = listing.html.select_one(f"#offer-{offer_id}").get_text(" ", strip=True)
    assert "P0001" in row and "invoiced" in row
    assert "€" in row and "182.06" in row


def test_refusals_and_bad_input_change_nothing(browser, tenant, make_user, make_client,
                                              dbsession):
    chair, _install, _group = _setup(dbsession, tenant)
    client = make_client(tenant, "Kask OÜ")
    sales = make_user(tenant, "sales", locale="en")
    today = dt.date.today()
    expired = _offer_with_line(dbsession, tenant, client, sales, chair,
                               issue_date=today - dt.timedelta(days=40), status="sent")
    with tenant_scope(dbsession, tenant.id):
        empty = svc.new_offer(dbsession, dbsession.merge(client), None, today)
        dbsession.commit()
        empty_id = empty.id
    b = browser(tenant, sales)
    token = b.csrf_token

    # An expired offer cannot be accepted, nor made into an invoice.
    page = b.get(f"/offers/{expired}")
    assert page.html.select_one("#offer-status").get_text() == "expired"
    refused = b.post(f"/offers/{expired}/status", {"status": "accepted", "csrf_token": token},
                     status=400)
    assert "expired on" in refused.html.select_one("#offer-error").get_text()
    refused = b.post(f"/offers/{expired}/invoice", {"csrf_token": token}, status=400)
    assert "expired on" in refused.html.select_one("#offer-error").get_text()
    offer = _fresh(dbsession, tenant, Offer, expired)
    assert (offer.status, offer.invoice_id) == ("sent", None)
    with tenant_scope(dbsession, tenant.id):
        try:
            svc.set_status(dbsession, offer, "accepted", today)
        except InvoiceError as exc:
            assert "cannot be accepted" in str(exc)
        else:
            raise AssertionError("an expired offer was accepted")
    dbsession.rollback()

    # An offer without lines can be neither sent nor invoiced; an unknown status is refused.
    for data, message in (({"status": "sent"}, "An offer without lines cannot be sent."),
                          ({"status": "accepted"}, "Only a sent offer can be accepted"),
                          ({"status": "invoiced"}, "Choose what happened to the offer.")):
        refused = b.post(f"/offers/{empty_id}/status", {**data, "csrf_token": token},
                         status=400)
        assert message in refused.html.select_one("#offer-error").get_text()
    refused = b.post(f"/offers/{empty_id}/invoice", {"csrf_token": token}, status=400)
    assert "Only a sent or accepted offer" in refused.html.select_one("#offer-error").get_text()

    # Bad quantities, prices and dates: 400 with the message, nothing saved.
    for values, field in (({"product_id": str(chair), "quantity": "abc"}, "quantity"),
                          ({"product_id": str(chair), "quantity": "0"}, "quantity"),
                          ({"product_id": str(chair), "quantity": "1.0001"}, "quantity"),
                          ({"description": "Work", "unit_price": ""}, "unit_price"),
                          ({"description": "Work", "unit_price": "-1"}, "unit_price"),
                          ({"product_id": "999999"}, "product_id")):
        refused = b.post(f"/offers/{empty_id}/lines", {**values, "csrf_token": token},
                         status=400)
        assert refused.html.select_one(f"#line-form .has-error [name={field}]") is not None, \
            values
    refused = b.post(f"/offers/{empty_id}", {"valid_until": "31.12.2099", "notes": "x",
                                             "csrf_token": token}, status=400)
    assert "YYYY-MM-DD" in refused.text
    b.post(f"/offers/{empty_id}", {"valid_until": (today - dt.timedelta(days=1)).isoformat(),
                                   "csrf_token": token}, status=400)
    offer = _fresh(dbsession, tenant, Offer, empty_id)
    assert (offer.status, offer.lines, offer.total, offer.notes) == (
        "draft", [], Decimal("0.00"), None)
    assert offer.valid_until == today + dt.timedelta(days=30)
    assert _count(dbsession, tenant, Invoice) == 0 and _count(dbsession, tenant, OfferLine) == 1

    # A valid header is saved; a sent offer cannot be changed any more.
    b.post(f"/offers/{empty_id}", {"valid_until": (today + dt.timedelta(days=10)).isoformat(),
                                   "notes": "<b>Delivery in May</b>", "csrf_token": token},
           status=303)
    offer = _fresh(dbsession, tenant, Offer, empty_id)
    assert (offer.valid_until, offer.notes) == (today + dt.timedelta(days=10),
                                                "<b>Delivery in May</b>")
    b.post(f"/offers/{empty_id}/lines", {"product_id": str(chair), "csrf_token": token},
           status=303)
    b.post(f"/offers/{empty_id}/status", {"status": "sent", "csrf_token": token}, status=303)
    page = b.get(f"/offers/{empty_id}")
    assert "&lt;b&gt;Delivery in May&lt;/b&gt;" in page.text  # escaped
    refused = b.post(f"/offers/{empty_id}/lines", {"product_id": str(chair),
                                                   "csrf_token": token}, status=400)
    assert "Only a draft offer can be changed." in refused.text
    line_id = _fresh(dbsession, tenant, Offer, empty_id).lines[0].id
    b.post(f"/offers/{empty_id}/lines/{line_id}/delete", {"csrf_token": token}, status=303)
    assert len(_fresh(dbsession, tenant, Offer, empty_id).lines) == 1

    # A sent (still valid) offer can be made into an invoice directly.
    made = b.post(f"/offers/{empty_id}/invoice", {"csrf_token": token}, status=303)
    assert "/invoices/" in made.location
    assert _fresh(dbsession, tenant, Offer, empty_id).status == "invoiced"
    assert _count(dbsession, tenant, Invoice) == 1


def test_rights_other_tenants_and_hidden_clients(browser, make_tenant, make_user, make_client,
                                                 dbsession):
    a = make_tenant("Alfa AS", host="alfa.test")
    other = make_tenant("Beeta OÜ", host="beeta.test")
    chair, _install, _group = _setup(dbsession, a)
    mine = make_client(a, "Oma OÜ")
    manager = make_user(a, "manager", locale="en")
    accepted = _offer_with_line(dbsession, a, mine, manager, chair, issue_date=dt.date.today(),
                                status="accepted")
    theirs = make_client(other, "Beeta Klient OÜ")
    with tenant_scope(dbsession, other.id):
        their_offer = svc.new_offer(dbsession, dbsession.merge(theirs), None, dt.date.today())
        dbsession.commit()
        their_id = their_offer.id

    b = browser(a, manager)
    token = b.csrf_token
    for path in (f"/offers/{their_id}", f"/clients/{theirs.id}/offers"):
        b.get(path, status=404)
    for path in (f"/offers/{their_id}", f"/offers/{their_id}/lines",
                 f"/offers/{their_id}/status", f"/offers/{their_id}/invoice",
                 f"/clients/{theirs.id}/offers", f"/offers/{accepted}/lines/999999/delete"):
        b.post(path, {"csrf_token": token, "status": "sent", "description": "x",
                      "unit_price": "1", "valid_until": "2099-01-01"}, status=404)
    assert _fresh(dbsession, other, Offer, their_id).status == "draft"
    assert _count(dbsession, a, Offer) == 1 and _count(dbsession, other, Offer) == 1

    # An accountant sees offers and edits invoices but may not make an offer into one.
    accountant = browser(a, make_user(a, "accountant", locale="en"))
    page = accountant.get(f"/offers/{accepted}")
    assert "invoice-form" not in page.forms and "new-offer-form" not in \
        accountant.get(f"/clients/{mine.id}/offers").forms
    accountant.post(f"/offers/{accepted}/invoice", {"csrf_token": accountant.csrf_token},
                    status=403)
    accountant.post(f"/clients/{mine.id}/offers", {"csrf_token": accountant.csrf_token},
                    status=403)
    assert _count(dbsession, a, Invoice) == 0

    # With "own clients only" a salesperson does not find another salesperson's client.
    seller = make_user(a, "sales", locale="en")
    dbsession.rollback()
    with tenant_scope(dbsession, a.id):
        row = dbsession.get(Tenant, a.id)
        row.settings = {**(row.settings or {}), OWN_CLIENTS_ONLY: True}
        dbsession.get(Client, mine.id).salesperson_id = manager.id
        dbsession.commit()
    s = browser(a, seller)
    s.get(f"/offers/{accepted}", status=404)
    s.get(f"/clients/{mine.id}/offers", status=404)
    s.post(f"/offers/{accepted}/invoice", {"csrf_token": s.csrf_token}, status=404)
    assert _fresh(dbsession, a, Offer, accepted).status == "accepted"
    assert _count(dbsession, a, Invoice) == 0


def test_offer_numbers_are_per_tenant_and_consecutive(make_tenant, make_client, dbsession,
                                                      db_url):
    """Offers of two tenants are numbered apart; concurrent offers (also the very first,
    which makes the series) get consecutive numbers on both databases."""
    a = make_tenant("Alfa AS", host="alfa.test")
    other = make_tenant("Beeta OÜ", host="beeta.test")
    client = make_client(a, "Kiire OÜ")
    their_client = make_client(other, "Aeglane OÜ")
    engine = make_engine(db_url)
    factory = make_session_factory(engine.execution_options(**{SQLITE_IMMEDIATE: True}))
    workers, per_worker = 6, 3
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        for _ in range(per_worker):
            session = factory()
            try:
                with session.begin(), tenant_scope(session, a.id):
                    svc.new_offer(session, session.get(Client, client.id), None,
                                  dt.date.today())
            except BaseException as exc:  # collected and re-raised below
                errors.append(exc)
            finally:
                session.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert not errors
    with tenant_scope(dbsession, other.id):
        svc.new_offer(dbsession, dbsession.merge(their_client), None, dt.date.today())
        dbsession.commit()
    dbsession.rollback()
    with tenant_scope(dbsession, a.id):
        numbers = sorted(dbsession.scalars(sa.select(Offer.number)))
        series = dbsession.scalars(sa.select(Series).where(Series.code == "offer")).all()
        prefixes = list(dbsession.scalars(sa.select(Series.prefix)))
    assert numbers == list(range(1, workers * per_worker + 1))
    assert len(series) == 1 and series[0].last_number == workers * per_worker
    assert len(prefixes) == len(set(prefixes))  # the settings page refuses shared prefixes
    with tenant_scope(dbsession, other.id):
        assert list(dbsession.scalars(sa.select(Offer.number))) == [1]
