"""Sequential numbers per tenant (client, activity and document numbers)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from plugins.crm_register.models import Counter


def next_number(dbsession: Session, series: str) -> int:
    """The next number of ``series`` for the session's tenant, without gaps or repeats.

    The counter row is locked (``FOR UPDATE`` on PostgreSQL; SQLite serialises writers),
    so concurrent transactions get consecutive numbers; a rolled-back transaction gives
    its number back.
    """
    counter = dbsession.scalar(
        sa.select(Counter).where(Counter.name == series).with_for_update()
    )
    if counter is None:
        counter = Counter(name=series, value=0)
        dbsession.add(counter)
    counter.value += 1
    dbsession.flush()
    return counter.value
