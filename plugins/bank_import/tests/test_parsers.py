"""The statement parsers: camt.053/054, MT940 and the Swedbank, SEB and LHV CSV exports.

Plain tests without a database: every fixture parses to the expected statements, detection
picks the right parser, broken files fail with their specific message, pycamt (an
independent camt.053 reader) agrees with the camt parser, and ``build_camt053`` output
reads back to the entries it was built from.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycamt.parser import Camt053Parser

from core.hookspecs.types import StatementParser
from plugins.bank_import.parsers import bank_csv, builtin_parsers, camt, common, mt940
from plugins.bank_import.statements import ParsedEntry, ParsedStatement, StatementError
from plugins.bank_import.tests.statement_builder import build_camt053

FIXTURES = Path(__file__).parent / "fixtures"
COMPANY_IBAN = "EE382200221020145685"
D = Decimal
EUR = "EUR"


def read(name: str) -> bytes:
    """The bytes of a fixture file."""
    return (FIXTURES / name).read_bytes()


def parser_named(name: str) -> StatementParser:
    """The built-in parser called ``name``."""
    return next(parser for parser in builtin_parsers() if parser.name == name)


def parse_fixture(parser_name: str, fixture: str) -> list[ParsedStatement]:
    """Parse a fixture with the named parser."""
    return parser_named(parser_name).parse(read(fixture), fixture)


def error_of(parse, data: bytes, name: str = "file") -> StatementError:
    """The StatementError that ``parse(data, name)`` raises."""
    with pytest.raises(StatementError) as caught:
        parse(data, name)
    return caught.value


def day(text: str) -> dt.date:
    """A date from "2026-03-02"."""
    return dt.date.fromisoformat(text)


# --- the parser list and detection --------------------------------------------------------

def test_builtin_parsers_come_in_order_with_translated_labels():
    parsers = builtin_parsers()
    assert [parser.name for parser in parsers] == [
        "camt", "mt940", "swedbank_csv", "seb_csv", "lhv_csv"]
    for parser in parsers:
        assert parser.label.domain == "bank_import"
        assert callable(parser.detect) and callable(parser.parse)


@pytest.mark.parametrize(("fixture", "expected"), [
    ("swedbank_camt053_v02.xml", "camt"),
    ("seb_camt053_v08.xml", "camt"),
    ("lhv_camt054_v02.xml", "camt"),
    ("camt054_v08.xml", "camt"),
    ("truncated_camt053.xml", "camt"),
    ("bomb.xml", "camt"),
    ("unknown_currency_camt053.xml", "camt"),
    ("mt940_structured.sta", "mt940"),
    ("mt940_plain.sta", "mt940"),
    ("swedbank.csv", "swedbank_csv"),
    ("seb.csv", "seb_csv"),
    ("lhv.csv", "lhv_csv"),
])
def test_exactly_the_right_parser_detects_each_fixture(fixture, expected):
    data = read(fixture)
    assert [parser.name for parser in builtin_parsers() if parser.detect(data, fixture)] == \
        [expected]


@pytest.mark.parametrize(("data", "name"), [
    (read("not_a_statement.xml"), "not_a_statement.xml"),
    (b"Hello, this is just a note; nothing to import here.\nSecond line\n", "note.txt"),
    ("Kuupäev;Summa;Selgitus\n01.03.2026;10,00;Arve\n".encode(), "other_bank.csv"),
    ('"Kliendi konto";"Kuupäev";"Summa"\n'.encode(), "partial_header.csv"),
    (b"", "empty.csv"),
    (bytes(range(256)) * 4, "binary.bin"),
])
def test_no_parser_detects_other_files(data, name):
    assert [parser.name for parser in builtin_parsers() if parser.detect(data, name)] == []


def test_detection_reads_only_the_start_of_the_file():
    data = read("swedbank_camt053_v02.xml") + b"<!--" + b"x" * 5_000_000 + b"-->"
    started = time.perf_counter()
    assert camt.detect(data, "big.xml")
    assert not mt940.detect(data, "big.xml")
    assert time.perf_counter() - started < 0.5


# --- camt.053 -----------------------------------------------------------------------------

SWEDBANK_CAMT_ENTRIES = [
    ParsedEntry(D("150.00"), True, EUR, day("2026-03-02"), day("2026-03-02"),
                bank_reference="2026030200112233", end_to_end_id="ARVE-2026-0015",
                counterparty_name="Kohvik Roheline OÜ",
                counterparty_account="EE891010220034796011", counterparty_bic="EEUHEE2X",
                reference="20260011", description="Arve 2026-0015",
                transaction_code="PMNT/RCDT/ESCT"),
    ParsedEntry(D("89.90"), True, EUR, day("2026-03-05"), day("2026-03-05"),
                bank_reference="2026030500223344", end_to_end_id=None,
                counterparty_name="Mets ja Partnerid OÜ",
                counterparty_account="EE227700771003578486", counterparty_bic="LHVBEE22",
                reference="RF18539007547034", description="",
                transaction_code="PMNT/RCDT/ESCT"),
    ParsedEntry(D("45.50"), True, EUR, day("2026-03-09"), day("2026-03-09"),
                bank_reference="2026030900334455", counterparty_name="Jaan Tamm",
                counterparty_account="EE302200221012345671", counterparty_bic="HABAEE2X",
                reference="20260037", description="Arve 2026-0017 tasumine",
                transaction_code="PMNT/RCDT/ESCT"),
    ParsedEntry(D("300.00"), True, EUR, day("2026-03-12"), day("2026-03-11"),
                bank_reference="2026031200445566", end_to_end_id="E2E-FI-778812",
                counterparty_name="Pohjolan Puu Oy", counterparty_account="FI2112345600000785",
                counterparty_bic="NDEAFIHH", reference=None,
                description="Arved 2026-0018 ja 2026-0019", transaction_code="PMNT/RCDT/ESCT"),
    ParsedEntry(D("120.00"), True, EUR, day("2026-03-16"), day("2026-03-16"),
                bank_reference="2026031600556677-A", end_to_end_id="KLIENT-88-1",
                counterparty_name="Saare Ehitus AS",
                counterparty_account="EE534200420012345676", reference="20260024",
                description="Arve 2026-0020", transaction_code="PMNT/RCDT/ESCT"),
    ParsedEntry(D("100.00"), True, EUR, day("2026-03-16"), day("2026-03-16"),
                bank_reference="2026031600556677/2", end_to_end_id="KLIENT-88-2",
                counterparty_name="Saare Ehitus AS",
                counterparty_account="EE534200420012345676", reference="20260176",
                description="Arve 2026-0021", transaction_code="PMNT/RCDT/ESCT"),
    ParsedEntry(D("75.25"), False, EUR, day("2026-03-20"), day("2026-03-20"),
                bank_reference="2026032000667788", end_to_end_id="41",
                counterparty_name="Kontoritarbed AS",
                counterparty_account="EE021010052037412007", counterparty_bic="EEUHEE2X",
                description="Arve K-5512", transaction_code="PMNT/ICDT/ESCT"),
    ParsedEntry(D("2.50"), False, EUR, day("2026-03-31"), day("2026-03-31"),
                bank_reference="2026033100778899", description="Kuutasu 03.2026", fee=True,
                transaction_code="ACMT/MDOP/CHRG"),
]


def test_swedbank_camt053_v02():
    [statement] = parse_fixture("camt", "swedbank_camt053_v02.xml")
    assert statement == ParsedStatement(
        format="camt.053.001.02", account_iban=COMPANY_IBAN, currency=EUR,
        statement_id="EE382200221020145685-2026-03", period_start=day("2026-03-01"),
        period_end=day("2026-03-31"), opening_balance=D("1000.00"),
        closing_balance=D("1727.65"), entries=SWEDBANK_CAMT_ENTRIES)


def test_camt053_skips_the_pending_entry_and_splits_the_batch():
    [statement] = parse_fixture("camt", "swedbank_camt053_v02.xml")
    assert D("500.00") not in [entry.amount for entry in statement.entries]
    batch = [entry for entry in statement.entries if entry.booking_date == day("2026-03-16")]
    assert [(entry.amount, entry.bank_reference) for entry in batch] == [
        (D("120.00"), "2026031600556677-A"), (D("100.00"), "2026031600556677/2")]
    # The booked entries add up from the opening to the closing balance.
    net = sum(entry.amount if entry.credit else -entry.amount for entry in statement.entries)
    assert statement.opening_balance + net == statement.closing_balance


def test_seb_camt053_v08():
    [statement] = parse_fixture("camt", "seb_camt053_v08.xml")
    assert (statement.format, statement.account_iban, statement.currency) == \
        ("camt.053.001.08", COMPANY_IBAN, EUR)
    assert (statement.opening_balance, statement.closing_balance) == \
        (D("1727.65"), D("2889.97"))  # PRCD as the opening balance; ITBD ignored
    assert (statement.period_start, statement.period_end) == (day("2026-04-01"),) * 2
    assert statement.entries == [
        ParsedEntry(D("1234.56"), True, EUR, day("2026-04-01"), day("2026-04-01"),
                    bank_reference="RO4001234567", end_to_end_id="ORDER-5531",
                    counterparty_name="Tartu Trükikoda AS",
                    counterparty_account="EE931010220020360011", counterparty_bic="EEUHEE2X",
                    reference="RF18539007547034", description="Invoice 2026-0031",
                    transaction_code="PMNT/RCDT/ESCT"),
        ParsedEntry(D("68.99"), False, EUR, day("2026-04-01"), day("2026-04-01"),
                    bank_reference="RO4001234568", counterparty_name="Elektrilevi OÜ",
                    counterparty_account="EE532200221055667785", counterparty_bic="HABAEE2X",
                    reference="121312952", description="", transaction_code="PMNT/ICDT/ESCT"),
        ParsedEntry(D("3.25"), False, EUR, day("2026-04-01"), day("2026-04-01"),
                    bank_reference="RO4001234569", description="Teenustasu: välismakse",
                    fee=True, transaction_code="CHRG"),
    ]


def test_lhv_camt054_v02_gives_one_statement_per_notification():
    statements = parse_fixture("camt", "lhv_camt054_v02.xml")
    assert [(s.format, s.statement_id, s.account_iban, s.currency, s.opening_balance)
            for s in statements] == [
        ("camt.054.001.02", "NTF-20260403-0001", COMPANY_IBAN, EUR, None),
        ("camt.054.001.02", "NTF-20260403-0002", COMPANY_IBAN, EUR, None)]
    assert [s.entries for s in statements] == [
        [ParsedEntry(D("640.00"), True, EUR, day("2026-04-03"), day("2026-04-03"),
                     bank_reference="2026040312345001", end_to_end_id="2026-0044",
                     counterparty_name="Viljandi Mööbel OÜ",
                     counterparty_account="EE707700771000123452", counterparty_bic="LHVBEE22",
                     reference="1234561", description="Arve nr 2026-0044",
                     transaction_code="PMNT/RCDT/ESCT")],
        [ParsedEntry(D("12.00"), True, EUR, day("2026-04-03"), day("2026-04-03"),
                     bank_reference="2026040312345002", counterparty_name="Mari Maasikas",
                     counterparty_account="LT121000011101001000", reference="20260011",
                     description="Kohvik, arve 15", transaction_code="PMNT/RCDT/ESCT")],
    ]


def test_camt054_v08_takes_the_currency_from_the_entries():
    [statement] = parse_fixture("camt", "camt054_v08.xml")
    assert statement == ParsedStatement(
        format="camt.054.001.08", account_iban=COMPANY_IBAN, currency=EUR,
        statement_id="NTF-V08-0001", entries=[
            ParsedEntry(D("410.10"), True, EUR, day("2026-04-04"), day("2026-04-04"),
                        bank_reference="NTF8-20260404-1", end_to_end_id="INV-2026-0050",
                        counterparty_name="Müller Handels GmbH",
                        counterparty_account="DE89370400440532013000",
                        counterparty_bic="COBADEFFXXX", reference="20260011",
                        description="Rechnung 2026-0050", transaction_code="PMNT/RCDT/SDVA")])


@pytest.mark.parametrize(("fixture", "message", "mapping"), [
    ("not_a_statement.xml", "The XML file is not a camt.053 or camt.054 bank statement.", None),
    ("truncated_camt053.xml", "The file is not well-formed XML; it may be truncated.", None),
    ("bomb.xml", "The file contains a document type declaration or entities, which are "
                 "refused for safety.", None),
    ("unknown_currency_camt053.xml", "Unknown currency ${code} in the statement.",
     {"code": "XYZ"}),
])
def test_bad_xml_inputs_fail_with_their_message(fixture, message, mapping):
    error = error_of(camt.parse, read(fixture), fixture)
    assert error.message == message
    assert error.message.domain == "bank_import"
    assert error.message.mapping == mapping


def test_unknown_currency_message_names_the_code():
    error = error_of(camt.parse, read("unknown_currency_camt053.xml"))
    assert error.message.interpolate() == "Unknown currency XYZ in the statement."


def _swedbank_fixture_with(old: str, new: str) -> bytes:
    """The Swedbank camt fixture with one text replaced (which must occur)."""
    data = read("swedbank_camt053_v02.xml")
    assert old.encode() in data
    return data.replace(old.encode(), new.encode(), 1)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("<Id><IBAN>EE382200221020145685</IBAN></Id>", "<Id><Othr><Id>221020145685</Id></Othr></Id>",
     "The statement has no account IBAN (Acct/Id/IBAN)."),
    ('<Amt Ccy="EUR">100.00</Amt></TxAmt>', '<Amt Ccy="EUR">90.00</Amt></TxAmt>',
     "The amounts of batch entry ${ref} do not add up to its total."),
    ("<Amt Ccy=\"EUR\">89.90</Amt>", "<Amt Ccy=\"EUR\">89,9O</Amt>",
     "Invalid amount ${value} in the statement."),
    ("<CdtDbtInd>DBIT</CdtDbtInd>\n        <Sts>BOOK</Sts>",
     "<CdtDbtInd>DEBIT</CdtDbtInd>\n        <Sts>BOOK</Sts>",
     "Unknown debit/credit indicator ${value} in the statement."),
    ("<BookgDt><Dt>2026-03-05</Dt></BookgDt>", "<BookgDt><Dt>2026-02-30</Dt></BookgDt>",
     "Invalid date ${value} in the statement."),
])
def test_one_broken_entry_fails_the_whole_camt_file(old, new, message):
    error = error_of(camt.parse, _swedbank_fixture_with(old, new))
    assert error.message == message


def test_camt_of_any_version_namespace_is_read():
    data = _swedbank_fixture_with("xsd:camt.053.001.02", "xsd:camt.053.001.13")
    [statement] = camt.parse(data, "v13.xml")
    assert statement.format == "camt.053.001.13"
    assert statement.entries == SWEDBANK_CAMT_ENTRIES


# --- the pycamt oracle and the builder ---------------------------------------------------

def _pycamt_booked(data: bytes) -> Counter:
    """(amount, booking date, CRDT/DBIT) of the booked transactions pycamt reads."""
    return Counter(
        (D(tx["Amount"]), day(tx["BookingDate"][:10]), tx["CreditDebitIndicator"])
        for tx in Camt053Parser(data).get_transactions() if tx["Status"] == "BOOK")


def _ours(statement: ParsedStatement) -> Counter:
    """The same triples from our statement."""
    return Counter((entry.amount, entry.booking_date, "CRDT" if entry.credit else "DBIT")
                   for entry in statement.entries)


def test_pycamt_agrees_on_the_swedbank_fixture():
    data = read("swedbank_camt053_v02.xml")
    [statement] = camt.parse(data, "swedbank_camt053_v02.xml")
    assert _pycamt_booked(data) == _ours(statement)
    assert sum(_pycamt_booked(data).values()) == len(statement.entries) == 8
    [info] = Camt053Parser(data).get_statement_info()
    assert (info["IBAN"], D(info["OpeningBalance"]), D(info["ClosingBalance"])) == \
        (statement.account_iban, statement.opening_balance, statement.closing_balance)


def _sample_entries(count: int) -> list[ParsedEntry]:
    """``count`` varied entries: credits with references, debits, fees, special text."""
    entries = []
    for number in range(count):
        credit = number % 4 != 1
        fee = number % 10 == 9
        entries.append(ParsedEntry(
            amount=D(number % 1000) + D("0.05") * (number % 20),
            credit=credit and not fee,
            currency=EUR,
            booking_date=day("2026-01-01") + dt.timedelta(days=number % 365),
            value_date=day("2026-01-01") + dt.timedelta(days=number % 365 + number % 2),
            bank_reference=f"2026{number:012d}",
            end_to_end_id=f"E2E-{number}" if number % 3 else None,
            counterparty_name=None if fee else f"Klient {number} & Pojad <OÜ>",
            counterparty_account=None if fee else "EE891010220034796011",
            counterparty_bic=None if fee else "EEUHEE2X",
            reference="20260011" if number % 2 else ("RF18539007547034" if number % 5 else None),
            description=f"Arve 2026-{number:04d} \"õ\" ja 'ä'",
            fee=fee,
            transaction_code="ACMT/MDOP/CHRG" if fee else (
                "PMNT/RCDT/ESCT" if credit else "PMNT/ICDT/ESCT"),
        ))
    return entries


def test_pycamt_agrees_on_builder_output():
    entries = _sample_entries(60)
    data = build_camt053(COMPANY_IBAN, entries)
    [statement] = camt.parse(data, "built.xml")
    assert _pycamt_booked(data) == _ours(statement)
    names = [tx.get("DebtorName") or tx.get("CreditorName")
             for tx in Camt053Parser(data).get_transactions()]
    assert names == [entry.counterparty_name for entry in entries]


@pytest.mark.parametrize("version", ["001.02", "001.04", "001.08", "001.13"])
def test_builder_round_trip(version):
    entries = _sample_entries(40)
    created = dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)
    data = build_camt053(COMPANY_IBAN, entries, version=version, statement_id="RT-1",
                         created=created, opening_balance=D("100.00"))
    [statement] = camt.parse(data, "built.xml")
    assert statement.format == f"camt.053.{version}"
    assert (statement.account_iban, statement.currency, statement.statement_id) == \
        (COMPANY_IBAN, EUR, "RT-1")
    assert statement.entries == entries
    net = sum(entry.amount if entry.credit else -entry.amount for entry in entries)
    assert (statement.opening_balance, statement.closing_balance) == \
        (D("100.00"), D("100.00") + net)


def test_builder_names_party_by_version():
    entry = _sample_entries(1)[0]
    assert b"<Dbtr><Nm>" in build_camt053(COMPANY_IBAN, [entry], version="001.02")
    assert b"<Sts>BOOK</Sts>" in build_camt053(COMPANY_IBAN, [entry], version="001.02")
    built = build_camt053(COMPANY_IBAN, [entry], version="001.08")
    assert b"<Dbtr><Pty><Nm>" in built and b"<Sts><Cd>BOOK</Cd></Sts>" in built
    assert b"<BICFI>EEUHEE2X</BICFI>" in built


def test_builder_writes_ten_thousand_entries_quickly():
    entries = _sample_entries(10_000)
    started = time.perf_counter()
    data = build_camt053(COMPANY_IBAN, entries)
    assert time.perf_counter() - started < 2.0
    [statement] = camt.parse(data, "big.xml")
    assert len(statement.entries) == 10_000


# --- MT940 --------------------------------------------------------------------------------

def test_mt940_structured():
    [statement] = parse_fixture("mt940", "mt940_structured.sta")
    assert (statement.format, statement.account_iban, statement.currency,
            statement.statement_id) == ("mt940", COMPANY_IBAN, EUR, "STMT20260331")
    assert (statement.opening_balance, statement.closing_balance) == \
        (D("1000.00"), D("1117.75"))
    assert (statement.period_start, statement.period_end) == \
        (day("2026-03-02"), day("2026-03-31"))
    assert statement.entries == [
        ParsedEntry(D("150.00"), True, EUR, day("2026-03-02"), day("2026-03-02"),
                    bank_reference="2026030200112233", counterparty_name="Kohvik Roheline OÜ",
                    counterparty_account="EE891010220034796011", counterparty_bic="EEUHEE2X",
                    reference="20260011", description="Arve 2026-0015",
                    transaction_code="NTRF"),
        ParsedEntry(D("45.50"), True, EUR, day("2026-03-09"), day("2026-03-09"),
                    bank_reference="2026030900334455", counterparty_name="Jaan Tamm",
                    counterparty_account="EE302200221012345671", counterparty_bic="HABAEE2X",
                    reference="20260037", description="Arve 2026-0017 tasumine",
                    transaction_code="NTRF"),
        ParsedEntry(D("75.25"), False, EUR, day("2026-03-20"), day("2026-03-20"),
                    bank_reference="2026032000667788", counterparty_name="Kontoritarbed AS",
                    counterparty_account="EE021010052037412007", counterparty_bic="EEUHEE2X",
                    reference=None, description="Arve K-5512", transaction_code="NTRF"),
        ParsedEntry(D("2.50"), False, EUR, day("2026-03-31"), day("2026-03-31"),
                    bank_reference="2026033100778899", description="Kuutasu 03.2026",
                    fee=True, transaction_code="NCHG"),
    ]


def test_mt940_plain_with_two_statements():
    eur, usd = parse_fixture("mt940", "mt940_plain.sta")
    assert (eur.account_iban, eur.currency, eur.statement_id, eur.opening_balance,
            eur.closing_balance) == (COMPANY_IBAN, EUR, "940-20260407", D("2889.97"),
                                     D("3203.78"))
    april_7 = day("2026-04-07")
    assert eur.entries == [
        ParsedEntry(D("25.00"), True, EUR, april_7, april_7,
                    bank_reference="LHV-2026040700001", reference="1234561",
                    description="Mari Maasikas Arve 2026-0051", transaction_code="NTRF"),
        ParsedEntry(D("310.00"), True, EUR, april_7, april_7,
                    bank_reference="LHV-2026040700002", reference="RF18539007547034",
                    description="Invoice 2026-0052", transaction_code="NTRF"),
        ParsedEntry(D("19.99"), False, EUR, april_7, april_7,
                    bank_reference="LHV-2026040700003",
                    description="Kaardimakse 06.04.2026 Bolt Food", transaction_code="NMSC"),
        ParsedEntry(D("1.20"), False, EUR, april_7, april_7, bank_reference="LHV-FEE-0407",
                    description="Välismakse teenustasu", fee=True, transaction_code="FCOM"),
    ]
    assert (usd.currency, usd.opening_balance, usd.closing_balance) == \
        ("USD", D("100.00"), D("150.00"))
    assert [(e.amount, e.currency, e.credit) for e in usd.entries] == [(D("50.00"), "USD", True)]


@pytest.mark.parametrize(("account", "expected"), [
    ("EE382200221020145685", COMPANY_IBAN),
    ("EE382200221020145685EUR", COMPANY_IBAN),
    ("EE382200221020145685 EUR", COMPANY_IBAN),
    ("HABAEE2X/EE382200221020145685", COMPANY_IBAN),
    ("/EE382200221020145685", COMPANY_IBAN),
    ("221020145685", "221020145685"),
])
def test_mt940_account_forms(account, expected):
    data = read("mt940_plain.sta").replace(b":25:/EE382200221020145685",
                                           f":25:{account}".encode())
    assert {s.account_iban for s in mt940.parse(data, "x.sta")} == {expected}


def test_mt940_details_forms():
    structured = mt940.parse_details("166?00SEPA?20/RFB/RF18539007547034/TXT/Arve ?21"
                                     "12?30LHVBEE22?31EE227700771003578486?32Mets ja P?33artnerid")
    assert (structured.reference, structured.description, structured.name,
            structured.account, structured.bic) == (
        "RF18539007547034", "Arve 12", "Mets ja Partnerid", "EE227700771003578486", "LHVBEE22")
    plain = mt940.parse_details("Kohvik Roheline\nArve 15")
    assert (plain.reference, plain.description, plain.name) == (None, "Kohvik Roheline Arve 15",
                                                                None)


@pytest.mark.parametrize(("data", "message"), [
    (b":20:X\n:25:EE382200221020145685\n:60F:C260301EUR1000,00\n:61:26ZZ01C1,00NTRF\n",
     "The MT940 file is malformed and cannot be read."),
    (b":20:X\n:25:\n:60F:C260301EUR1000,00\n:61:2603010301C1,00NTRFNONREF\n:86:x\n",
     "The MT940 statement has no account (field :25:)."),
    (b":20:X\n:25:EE382200221020145685\n:61:2603010301C1,00NTRFNONREF\n:86:x\n",
     "The MT940 statement has no opening balance (field :60F:)."),
    (b":20:X\n:25:EE382200221020145685\n:60F:C260301XYZ1000,00\n",
     "Unknown currency ${code} in the statement."),
    (b"no statement here", "The file contains no statement."),
])
def test_bad_mt940_fails_with_its_message(data, message):
    assert error_of(mt940.parse, data).message == message


# --- bank CSV exports ---------------------------------------------------------------------

def test_swedbank_csv_gives_one_statement_per_currency():
    eur, usd = parse_fixture("swedbank_csv", "swedbank.csv")
    assert (eur.format, eur.account_iban, eur.currency, eur.opening_balance,
            eur.closing_balance, eur.period_start, eur.period_end) == (
        "swedbank-csv", COMPANY_IBAN, EUR, D("1000.00"), D("2332.32"), day("2026-03-01"),
        day("2026-03-31"))
    assert eur.entries == [
        ParsedEntry(D("150.00"), True, EUR, day("2026-03-02"),
                    bank_reference="2026030200112233", counterparty_name="Kohvik Roheline OÜ",
                    reference="20260011", description="Arve 2026-0015", transaction_code="MK"),
        ParsedEntry(D("45.50"), True, EUR, day("2026-03-09"),
                    bank_reference="2026030900334455", counterparty_name="Jaan Tamm",
                    reference="20260037", description="Arve 2026-0017 tasumine",
                    transaction_code="MK"),
        ParsedEntry(D("1234.56"), True, EUR, day("2026-03-12"),
                    bank_reference="2026031200445566", counterparty_name="Põllu Talu OÜ",
                    description="Arved 2026-0018 ja 2026-0019", transaction_code="MK"),
        ParsedEntry(D("19.99"), False, EUR, day("2026-03-18"),
                    bank_reference="2026031800998877", counterparty_name="BOLT FOOD",
                    description="'4797********1234 17.03.26 BOLT FOOD TALLINN",
                    transaction_code="K"),
        ParsedEntry(D("75.25"), False, EUR, day("2026-03-20"),
                    bank_reference="2026032000667788", counterparty_name="Kontoritarbed AS",
                    description="Arve K-5512", transaction_code="MK"),
        ParsedEntry(D("2.50"), False, EUR, day("2026-03-31"),
                    bank_reference="2026033100778899", description="Teenustasu: kuutasu 03.2026",
                    fee=True),
    ]
    net = sum(entry.amount if entry.credit else -entry.amount for entry in eur.entries)
    assert eur.opening_balance + net == eur.closing_balance
    assert (usd.currency, usd.opening_balance, usd.closing_balance) == \
        ("USD", D("100.00"), D("150.00"))
    assert [(e.amount, e.counterparty_name) for e in usd.entries] == [(D("50.00"), "ACME CORP")]


def test_swedbank_csv_in_windows_1257():
    data = read("swedbank.csv").decode("utf-8-sig").encode("cp1257")
    parser = parser_named("swedbank_csv")
    assert parser.detect(data, "swedbank.csv")
    assert parser.parse(data, "swedbank.csv") == parse_fixture("swedbank_csv", "swedbank.csv")


def test_seb_csv():
    [statement] = parse_fixture("seb_csv", "seb.csv")  # the fixture is in Windows-1257
    assert (statement.format, statement.account_iban, statement.currency,
            statement.period_start, statement.period_end, statement.opening_balance) == (
        "seb-csv", COMPANY_IBAN, EUR, day("2026-04-02"), day("2026-04-05"), None)
    assert statement.entries == [
        ParsedEntry(D("150.00"), True, EUR, day("2026-04-02"), bank_reference="RO4010000001",
                    counterparty_name="Kohvik Roheline OÜ",
                    counterparty_account="EE891010220034796011", counterparty_bic="EEUHEE2X",
                    reference="20260011", description="Arve 2026-0015", transaction_code="MK"),
        ParsedEntry(D("68.99"), False, EUR, day("2026-04-03"), bank_reference="RO4010000002",
                    counterparty_name="Elektrilevi OÜ",
                    counterparty_account="EE532200221055667785", counterparty_bic="HABAEE2X",
                    reference="121312952", description="Elekter 03.2026", transaction_code="MK"),
        ParsedEntry(D("1234.56"), True, EUR, day("2026-04-04"), bank_reference="RO4010000003",
                    counterparty_name="Saare Ehitus AS",
                    counterparty_account="EE534200420012345676", counterparty_bic="EKRDEE22",
                    reference="RF18539007547034", description="Arved 2026-0020; 2026-0021",
                    transaction_code="MK"),
        ParsedEntry(D("2.95"), False, EUR, day("2026-04-05"), bank_reference="RO4010000004",
                    counterparty_name="SEB", description="Arvelduskonto hooldustasu märts",
                    fee=True, transaction_code="TT"),
    ]


def test_lhv_csv():
    eur, usd = parse_fixture("lhv_csv", "lhv.csv")
    assert (eur.format, eur.account_iban, eur.currency) == ("lhv-csv", COMPANY_IBAN, EUR)
    assert eur.entries == [
        ParsedEntry(D("640.00"), True, EUR, day("2026-04-07"),
                    bank_reference="2026040700000001", counterparty_name="Viljandi Mööbel OÜ",
                    counterparty_account="EE707700771000123452", counterparty_bic="LHVBEE22",
                    reference="1234561", description="Arve nr 2026-0044"),
        ParsedEntry(D("75.25"), False, EUR, day("2026-04-07"),
                    bank_reference="2026040700000002", counterparty_name="Kontoritarbed AS",
                    counterparty_account="EE021010052037412007", counterparty_bic="EEUHEE2X",
                    description="Arve K-5512"),
        ParsedEntry(D("1.20"), False, EUR, day("2026-04-08"),
                    bank_reference="2026040800000003",
                    description="Teenustasu: SEPA välismakse", fee=True),
    ]
    # Without the account servicer's reference the archive id identifies the entry.
    assert [(e.amount, e.currency, e.bank_reference, e.description) for e in usd.entries] == [
        (D("99.50"), "USD", "2026040812345004", "Invoice 77, order 12")]


def test_a_payment_for_a_service_fee_invoice_is_not_a_bank_fee():
    old = b'"2026-04-08","","","","","D","-1.20"'
    assert old in read("lhv.csv")
    data = read("lhv.csv").replace(
        old, b'"2026-04-08","EE021010052037412007","Hooldus OU","","","D","-1.20"')
    [eur, _usd] = parser_named("lhv_csv").parse(data, "lhv.csv")
    assert [entry.fee for entry in eur.entries] == [False, False, False]


@pytest.mark.parametrize(("old", "new", "message", "mapping"), [
    (b'"K";"2026030900334455"', b'"X";"2026030900334455"',
     "Unknown debit/credit mark ${value} in row ${row}.", {"value": "X", "row": 4}),
    (b'"45,50"', b'"45,5O"', "Invalid amount ${value} in the statement.", {"value": "45,5O"}),
    (b'"09.03.2026"', b'"31.02.2026"', "Invalid date ${value} in the statement.",
     {"value": "31.02.2026"}),
    (b'"EUR";"K";"2026030900334455"', b'"ABC";"K";"2026030900334455"',
     "Unknown currency ${code} in the statement.", {"code": "ABC"}),
    (b'"EE382200221020145685";"20";"09.03.2026"', b'"";"20";"09.03.2026"',
     "Row ${row} of the CSV file names no account.", {"row": 4}),
])
def test_one_broken_csv_row_fails_the_whole_file(old, new, message, mapping):
    data = read("swedbank.csv")
    assert old in data
    error = error_of(parser_named("swedbank_csv").parse, data.replace(old, new, 1))
    assert (error.message, error.message.mapping) == (message, mapping)


def test_incomplete_csv_row_fails():
    data = read("seb.csv") + b'"EE382200221020145685";"";"06.04.2026";"";"X"\r\n'
    error = error_of(parser_named("seb_csv").parse, data)
    assert (error.message, error.message.mapping) == (
        "Row ${row} of the CSV file is incomplete.", {"row": 6})


def test_csv_parser_refuses_another_layout():
    error = error_of(parser_named("seb_csv").parse, read("lhv.csv"))
    assert error.message == "The CSV file is not in the layout of this bank."


def test_csv_with_header_only_has_no_statement():
    header = read("lhv.csv").split(b"\n", 1)[0] + b"\n"
    error = error_of(parser_named("lhv_csv").parse, header)
    assert error.message == "The file contains no statement."


def test_layouts_tell_seb_and_lhv_apart():
    seb_header = read("seb.csv").decode("cp1257").splitlines()[0]
    lhv_header = read("lhv.csv").decode().splitlines()[0]
    assert bank_csv._column_map(bank_csv.SEB, bank_csv._header(seb_header)[0]) is not None
    assert bank_csv._column_map(bank_csv.LHV, bank_csv._header(seb_header)[0]) is None
    assert bank_csv._column_map(bank_csv.LHV, bank_csv._header(lhv_header)[0]) is not None
    assert bank_csv._column_map(bank_csv.SEB, bank_csv._header(lhv_header)[0]) is None


# --- shared helpers -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("1234.56", D("1234.56")), ("1234,56", D("1234.56")), ("1 234,56", D("1234.56")),
    ("1.234,56", D("1234.56")), ("1,234.56", D("1234.56")), ("-75.25", D("-75.25")),
    ("0", D("0")), ("\u00a012,5 ", D("12.5")),
])
def test_parse_amount(text, expected):
    assert common.parse_amount(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1,2,3.4.5", "NaN", "Infinity", None])
def test_parse_amount_refuses_non_numbers(text):
    with pytest.raises(StatementError):
        common.parse_amount(text)


@given(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False,
                   allow_infinity=False),
       st.sampled_from(["plain", "comma", "grouped_comma", "grouped_dot"]))
def test_parse_amount_reads_every_written_form(amount, style):
    plain = f"{amount:.2f}"
    written = {
        "plain": plain,
        "comma": plain.replace(".", ","),
        "grouped_comma": f"{amount:,.2f}".replace(",", " ").replace(".", ","),
        "grouped_dot": f"{amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."),
    }[style]
    assert common.parse_amount(written) == amount


reference_text = st.from_regex(r"[A-Z0-9]{1,25}", fullmatch=True)
free_text = st.text(alphabet=st.characters(blacklist_characters="/",
                                           blacklist_categories=("Cs", "Cc")), max_size=60)


@given(reference_text, free_text)
def test_split_rfb_finds_reference_and_text(reference, text):
    assert common.split_rfb(f"/RFB/{reference}/TXT/{text}") == (reference, " ".join(text.split()))


@given(free_text)
def test_split_rfb_leaves_other_text_alone(text):
    assert common.split_rfb(text) == (None, " ".join(text.split()))


def test_split_rfb_forms():
    assert common.split_rfb("/RFB/1234 561/TXT/Arve 15") == ("1234561", "Arve 15")
    assert common.split_rfb("Makse /RFB/1234561") == ("1234561", "Makse")
    assert common.split_rfb("/RFB//TXT/ainult tekst") == (None, "ainult tekst")


@pytest.mark.parametrize(("text", "valid"), [
    ("1234561", True), ("20260011", True), ("121312952", True), ("1234 561", True),
    ("1234562", False), ("1", False), ("RF18539007547034", True), ("RF18 5390 0754 7034", True),
    ("RF19539007547034", False), ("", False), (None, False),
])
def test_is_valid_reference(text, valid):
    assert common.is_valid_reference(text) is valid


def test_check_currency():
    assert common.check_currency(" eur ") == "EUR"
    for code in ("XYZ", "EU", "", None, "EURO"):
        with pytest.raises(StatementError):
            common.check_currency(code)


def test_parse_date_forms():
    assert common.parse_date("2026-03-02") == day("2026-03-02")
    assert common.parse_date("2026-03-02T23:59:59+03:00") == day("2026-03-02")
    assert common.parse_date("2.3.2026") == day("2026-03-02")
    for text in ("2026-13-01", "32.01.2026", "yesterday", ""):
        with pytest.raises(StatementError):
            common.parse_date(text)


def test_parsed_entries_never_share_state():
    first = parse_fixture("camt", "swedbank_camt053_v02.xml")[0].entries
    second = parse_fixture("camt", "swedbank_camt053_v02.xml")[0].entries
    first[0].description = "changed"
    assert second[0].description == "Arve 2026-0015"
    assert replace(second[0], description="changed") == first[0]
