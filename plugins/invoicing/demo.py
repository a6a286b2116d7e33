"""Demo data of invoicing: the seller's details, products and services, client discounts and
about sixty invoices of the last four months (paid, partly paid, overdue, credited, drafts).

Called through the ``demo_data`` hook after the client register has made its clients.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import Tenant, User
from plugins.crm_register.models import Client, ClientGroup, ClientGroupLink
from plugins.invoicing.defaults import create_defaults
from plugins.invoicing.invoices import (
    LineInput,
    add_line,
    after_credit_confirmed,
    confirm,
    credit_invoice,
    new_draft,
    set_paid_amount,
    settings_of,
)
from plugins.invoicing.models import ClientDiscount, Product, ProductGroup
from plugins.invoicing.sending import mark_sent

SEED = 20261123
PRODUCTS = (
    # code, name, English name, group, service, unit, price, VAT code, minutes
    ("KONTOR-TOOL", "Kontoritool Ergo", "Office chair Ergo", "Kaubad", False, "H87", "189.00",
     "standard", None),
    ("LAUD-160", "Kirjutuslaud 160 cm", "Desk 160 cm", "Kaubad", False, "H87", "245.00",
     "standard", None),
    ("RIIUL-5", "Raamaturiiul 5 riiulit", "Bookshelf, 5 shelves", "Kaubad", False, "H87",
     "119.50", "standard", None),
    ("PABER-A4", "Koopiapaber A4, 500 lehte", "Copy paper A4, 500 sheets", "Tarvikud", False,
     "H87", "5.90", "standard", None),
    ("TONER-HP", "Tooner HP 59A", "Toner HP 59A", "Tarvikud", False, "H87", "89.00",
     "standard", None),
    ("RAAMAT-KH", "Raamatupidamise käsiraamat", "Accounting handbook", "Kaubad", False, "H87",
     "32.00", "reduced", None),
    ("PAIGALDUS", "Mööbli paigaldus", "Furniture installation", "Teenused", True, "HUR",
     "45.00", "standard", 120),
    ("HOOLDUS", "Printeri hooldus", "Printer maintenance", "Teenused", True, "HUR", "55.00",
     "standard", 60),
    ("KOOLITUS", "Kontoritarkvara koolitus", "Office software training", "Teenused", True,
     "HUR", "75.00", "standard", 180),
    ("TRANSPORT", "Transport Tallinnas", "Delivery in Tallinn", "Teenused", True, "H87",
     "25.00", "standard", None),
)


def create_demo_data(dbsession: Session, tenant: Tenant, today: dt.date | None = None) -> None:
    """Fill the (current) demo tenant with invoicing data."""
    create_defaults(dbsession, tenant)
    rng = random.Random(SEED)  # noqa: S311 - demo data, not a secret
    today = today or dt.date.today()
    settings = settings_of(dbsession)
    settings.seller_name = tenant.name
    settings.registry_code, settings.vat_number = "12345678", "EE101234568"
    settings.street, settings.city, settings.postal_code = "Tartu mnt 17", "Tallinn", "10117"
    settings.email, settings.phone = "arved@demo.ee", "+372 600 1234"
    settings.iban, settings.bic, settings.bank_name = (
        "EE382200221020145685", "HABAEE2X", "Swedbank AS")
    groups = {g.name: g for g in dbsession.scalars(sa.select(ProductGroup))}
    products = []
    for code, name, name_en, group, service, unit, price, vat, minutes in PRODUCTS:
        products.append(Product(
            code=code, name=name, name_en=name_en, group_id=groups[group].id,
            is_service=service, unit_code=unit, price=Decimal(price), vat_code=vat,
            service_minutes=minutes))
    dbsession.add_all(products)
    dbsession.flush()
    gold = dbsession.scalars(
        sa.select(ClientGroupLink.client_id).join(ClientGroup)
        .where(ClientGroup.name == "Kuldklient")).all()
    for client_id in gold:
        dbsession.add(ClientDiscount(client_id=client_id, group_id=groups["Kaubad"].id,
                                     percent=Decimal(10)))
    clients = list(dbsession.scalars(
        sa.select(Client).where(Client.sales_blocked.is_(False), Client.active.is_(True))
        .order_by(Client.id)))
    users = list(dbsession.scalars(sa.select(User).where(User.role.in_(("sales", "manager")))
                                   .order_by(User.id)))
    if not clients or not users:
        return
    for n in range(60):
        client = rng.choice(clients)
        user = rng.choice(users)
        issued = today - dt.timedelta(days=120 - 2 * n)
        invoice = new_draft(dbsession, client, user, issue_date=issued)
        for product in rng.sample(products, rng.randint(1, 4)):
            quantity = Decimal(rng.choice((1, 1, 2, 3, 5, 10))) if not product.is_service \
                else Decimal(rng.choice(("1", "1.5", "2", "4")))
            add_line(dbsession, invoice, LineInput(product_id=product.id, quantity=quantity))
        if n >= 57:
            continue  # the newest three stay drafts
        confirm(dbsession, invoice, user, can_override=True,
                now=utcnow() - dt.timedelta(days=(today - issued).days))
        mark_sent(invoice)
        age = (today - issued).days
        if age > 45 or (age > 20 and rng.random() < 0.6):
            set_paid_amount(invoice, invoice.total)
        elif rng.random() < 0.2:
            set_paid_amount(invoice, (invoice.total / 2).quantize(Decimal("0.01")))
        if n == 10:
            credit = credit_invoice(dbsession, invoice, user)
            confirm(dbsession, credit, user)
            after_credit_confirmed(dbsession, credit)
    dbsession.flush()
