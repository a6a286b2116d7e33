"""Fixtures of the client register's tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.db import make_engine, make_session_factory, tenant_scope
from plugins.crm_register.clients import refresh_person_search, refresh_search
from plugins.crm_register.models import Client, ClientPerson, Person
from plugins.crm_register.numbering import next_number


@pytest.fixture
def make_client(db_url: str) -> Callable[..., Client]:
    """Create (and commit) a client of ``tenant``: ``make_client(tenant, "Õun OÜ", ...)``.

    ``contacts`` is a list of ``(first name, last name, role)`` tuples.
    """
    engine = make_engine(db_url)

    def factory(tenant: Any, name: str, contacts: tuple = (), **fields: Any) -> Client:
        session = make_session_factory(engine)()
        with session, session.begin(), tenant_scope(session, tenant.id):
            client = Client(name=name, number=next_number(session, "client"), **fields)
            session.add(client)
            session.flush()
            for first, last, role in contacts:
                person = Person(first_name=first, last_name=last)
                session.add(person)
                session.flush()
                session.add(ClientPerson(client_id=client.id, person_id=person.id, role=role))
                session.flush()
                refresh_person_search(session, person)
            refresh_search(session, client)
            session.flush()
            session.expunge(client)
        return client

    yield factory
    engine.dispose()
