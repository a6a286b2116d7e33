"""The catalogues a tenant starts with when the client register is enabled."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from plugins.crm_register.models import (
    ActivityType,
    CatalogueItem,
    ClientGroup,
    ClientType,
    Counter,
    DocumentType,
)

GROUPS = ("Püsiklient", "Suurklient", "Juhuklient", "Kuldklient")
TYPES = ("Ostja", "Edasimüüja", "Tarnija", "Partner")
ACTIVITY_TYPES = (
    ("call", "Telefonikõne", False, 15),
    ("meeting", "Kohtumine", False, 60),
    ("email", "E-kiri", False, 10),
    ("task", "Ülesanne", False, 30),
    ("visit", "Kliendikülastus (autoga)", True, 90),
    ("service", "Teenindus", False, 120),
)
CATALOGUE = (
    ("resource", "Sõiduauto", "km"),
    ("resource", "Projektor", "päev"),
    ("service", "Paigaldus", "h"),
    ("service", "Koolitus", "h"),
)
DOCUMENT_TYPES = ("Leping", "Pakkumine", "Spetsifikatsioon", "Joonis", "Akt", "E-kiri")
SERIES = ("client", "activity", "document")


def _empty(dbsession: Session, model: type) -> bool:
    return dbsession.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def create_defaults(dbsession: Session) -> None:
    """Give each empty catalogue of the tenant its defaults (idempotent).

    A catalogue that already has rows is left alone, so enabling the plugin again does not
    bring back defaults a manager deleted or renamed.
    """
    if _empty(dbsession, ClientGroup):
        dbsession.add_all(ClientGroup(name=name, position=i) for i, name in enumerate(GROUPS))
    if _empty(dbsession, ClientType):
        dbsession.add_all(ClientType(name=name, position=i) for i, name in enumerate(TYPES))
    if _empty(dbsession, ActivityType):
        dbsession.add_all(
            ActivityType(code=code, name=name, requires_kilometres=km, default_minutes=minutes,
                         position=i)
            for i, (code, name, km, minutes) in enumerate(ACTIVITY_TYPES)
        )
    if _empty(dbsession, CatalogueItem):
        dbsession.add_all(CatalogueItem(kind=kind, name=name, unit=unit)
                          for kind, name, unit in CATALOGUE)
    if _empty(dbsession, DocumentType):
        dbsession.add_all(DocumentType(name=name, position=i)
                          for i, name in enumerate(DOCUMENT_TYPES))
    existing = set(dbsession.scalars(sa.select(Counter.name)))
    dbsession.add_all(Counter(name=series, value=0) for series in SERIES if series not in existing)
    dbsession.flush()
