"""Fixtures of the invoicing plugin's tests (the client register's ``make_client`` too)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from core.db import make_engine, make_session_factory, tenant_scope
from plugins.crm_register.tests.conftest import make_client  # noqa: F401 - shared fixture
from plugins.invoicing.models import Product, ProductGroup


@pytest.fixture
def make_product(db_url: str) -> Iterator[Callable[..., Product]]:
    """Create (and commit) a product of ``tenant``:
    ``make_product(tenant, "TOOL-1", "Tool", "12.50", group="Kaubad", vat_code="standard",
    unit_code="H87", is_service=False, service_minutes=None, active=True, name_en=None)``.

    ``price`` is a ``Decimal`` or a string; ``group`` is a product group's name (created
    when the tenant has none of that name) or id. Returns the product, detached.
    """
    engine = make_engine(db_url)

    def factory(tenant: Any, code: str, name: str, price: Decimal | str | int,
                group: str | int | None = None, vat_code: str = "standard",
                **fields: Any) -> Product:
        session = make_session_factory(engine)()
        with session, session.begin(), tenant_scope(session, tenant.id):
            group_id = None
            if isinstance(group, int):
                group_id = group
            elif group is not None:
                group_id = session.scalar(
                    sa.select(ProductGroup.id).where(ProductGroup.name == group))
                if group_id is None:
                    row = ProductGroup(name=group)
                    session.add(row)
                    session.flush()
                    group_id = row.id
            product = Product(code=code, name=name, price=Decimal(str(price)),
                              group_id=group_id, vat_code=vat_code, **fields)
            session.add(product)
            session.flush()
            session.expunge(product)
        return product

    yield factory
    engine.dispose()
