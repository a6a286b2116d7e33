"""A company plugin adds its own bank's statement format through ``statement_parsers``."""

from __future__ import annotations

import datetime as dt
import types
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import tenant_scope
from core.sdk import StatementParser, hookimpl
from plugins.bank_import.models import BankTransaction
from plugins.bank_import.statements import ParsedEntry, ParsedStatement, StatementError
from plugins.bank_import.tests.conftest import COMPANY_IBAN

MAGIC = b"ACMEBANK1;"


def _detect(data: bytes, filename: str) -> bool:
    return data.startswith(MAGIC)


def _parse(data: bytes, filename: str) -> list[ParsedStatement]:
    """``ACMEBANK1;<iban>`` then one ``date;amount;payer;text`` line per incoming payment."""
    header, *lines = data.decode().splitlines()
    statement = ParsedStatement(format="acme-bank-1", account_iban=header.split(";")[1],
                                currency="EUR")
    for number, line in enumerate(lines, start=1):
        try:
            day, amount, payer, text = line.split(";")
            statement.entries.append(ParsedEntry(
                amount=Decimal(amount), credit=True, currency="EUR",
                booking_date=dt.date.fromisoformat(day), counterparty_name=payer,
                description=text, bank_reference=f"acme-{day}-{number}"))
        except ValueError:
            raise StatementError(f"Line {number} is not date;amount;payer;text.") from None
    return [statement]


@pytest.mark.hookspec("statement_parsers")
def test_a_company_parser_reads_its_bank_format_before_the_built_in_ones(
        app, browser, tenant, make_user, bank_account, make_client, make_invoice, dbsession):
    client = make_client(tenant, "Formaat OÜ")
    invoice = make_invoice(tenant, client, "12.50")
    plugin = types.SimpleNamespace(statement_parsers=hookimpl(
        lambda request: [StatementParser("acme_bank", "Acme Bank", _detect, _parse)]))
    manager = app.registry["plugins"].pm
    manager.register(plugin, name="test_acme_bank")
    try:
        b = browser(tenant, make_user(tenant, "accountant", locale="en"))
        assert "Acme Bank" in b.get("/bank").html.find(id="upload").text
        data = MAGIC + COMPANY_IBAN.encode() + \
            f"\n2026-11-20;12.50;Formaat OÜ;arve {invoice.number}\n".encode()
        page = b.post("/bank/import", {"csrf_token": b.csrf_token},
                      upload_files=[("file", "acme.txt", data)], status=303).follow()
        assert "Entries in the file: 1; new: 1;" in page.text
        broken = b.post("/bank/import", {"csrf_token": b.csrf_token},
                        upload_files=[("file", "acme.txt", MAGIC + b"EE00\nbad")], status=400)
        assert "Line 1 is not date;amount;payer;text." in broken.text
    finally:
        manager.unregister(name="test_acme_bank")
    dbsession.rollback()
    with tenant_scope(dbsession, tenant.id):
        [payment] = dbsession.scalars(sa.select(BankTransaction)).all()
    assert (payment.state, payment.description) == ("matched", f"arve {invoice.number}")
