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


def _missing(dbsession: Session, column: sa.Column, values: list[str]) -> list[str]:
    existing = set(dbsession.scalars(sa.select(column)))
    return [v for v in values if v not in existing]


def create_defaults(dbsession: Session) -> None:
    """Add the default catalogues the tenant does not have yet (idempotent)."""
    for i, name in enumerate(GROUPS):
        if name in _missing(dbsession, ClientGroup.name, [name]):
            dbsession.add(ClientGroup(name=name, position=i))
    for i, name in enumerate(TYPES):
        if name in _missing(dbsession, ClientType.name, [name]):
            dbsession.add(ClientType(name=name, position=i))
    for i, (code, name, km, minutes) in enumerate(ACTIVITY_TYPES):
        if code in _missing(dbsession, ActivityType.code, [code]):
            dbsession.add(ActivityType(code=code, name=name, requires_kilometres=km,
                                       default_minutes=minutes, position=i))
    for kind, name, unit in CATALOGUE:
        if name in _missing(dbsession, CatalogueItem.name, [name]):
            dbsession.add(CatalogueItem(kind=kind, name=name, unit=unit))
    for i, name in enumerate(DOCUMENT_TYPES):
        if name in _missing(dbsession, DocumentType.name, [name]):
            dbsession.add(DocumentType(name=name, position=i))
    for series in _missing(dbsession, Counter.name, list(SERIES)):
        dbsession.add(Counter(name=series, value=0))
    dbsession.flush()
