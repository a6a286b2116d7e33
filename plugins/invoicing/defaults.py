"""What a tenant starts with when invoicing is enabled: VAT rates, series, product groups."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.models import Tenant
from plugins.invoicing.models import ProductGroup, Series, Settings, VatRate

# Estonian VAT (käibemaksuseadus): standard 20 % until 2023, 22 % in 2024 to 2025-06-30,
# 24 % from 2025-07-01; reduced 9 % (books, medicines); accommodation 9 %, 13 % from 2025;
# press 5 %, 9 % from 2025; zero-rated (export) and exempt.
VAT_RATES = (
    ("standard", "Standardmäär", "S", "20", dt.date(2009, 7, 1), dt.date(2023, 12, 31)),
    ("standard", "Standardmäär", "S", "22", dt.date(2024, 1, 1), dt.date(2025, 6, 30)),
    ("standard", "Standardmäär", "S", "24", dt.date(2025, 7, 1), None),
    ("reduced", "Vähendatud määr", "S", "9", dt.date(2009, 1, 1), None),
    ("lodging", "Majutus", "S", "9", dt.date(2009, 1, 1), dt.date(2024, 12, 31)),
    ("lodging", "Majutus", "S", "13", dt.date(2025, 1, 1), None),
    ("press", "Ajakirjandus", "S", "5", dt.date(2018, 7, 1), dt.date(2024, 12, 31)),
    ("press", "Ajakirjandus", "S", "9", dt.date(2025, 1, 1), None),
    ("zero", "0 % (eksport)", "Z", "0", dt.date(2000, 1, 1), None),
    ("exempt", "Maksuvaba", "E", "0", dt.date(2000, 1, 1), None),
)
EXEMPTION_REASONS = {"exempt": "Maksuvaba käive KMS § 16 alusel"}
SERIES = (("invoice", ""), ("credit", "K"), ("prepayment", "E"))
PRODUCT_GROUPS = ("Kaubad", "Teenused", "Tarvikud")


def _empty(dbsession: Session, model: type) -> bool:
    return dbsession.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def create_defaults(dbsession: Session, tenant: Tenant) -> None:
    """Give each empty catalogue of the tenant its defaults (idempotent)."""
    if _empty(dbsession, VatRate):
        dbsession.add_all(
            VatRate(code=code, name=name, category=category, percent=Decimal(percent),
                    valid_from=start, valid_until=end,
                    exemption_reason=EXEMPTION_REASONS.get(code))
            for code, name, category, percent, start, end in VAT_RATES)
    if _empty(dbsession, Series):
        dbsession.add_all(Series(code=code, prefix=prefix) for code, prefix in SERIES)
    if _empty(dbsession, ProductGroup):
        dbsession.add_all(ProductGroup(name=name, position=i)
                          for i, name in enumerate(PRODUCT_GROUPS))
    if _empty(dbsession, Settings):
        dbsession.add(Settings(seller_name=tenant.name))
    dbsession.flush()
