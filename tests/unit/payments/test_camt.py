from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from nuage.payments.camt import (
    MAX_TEXT,
    BankEntry,
    MalformedStatement,
    StatementTooLarge,
    parse_camt053,
    read_camt053,
    write_camt053,
)

D = Decimal
IBAN = "BE68539007547034"
REF = "+++202/6000/00192+++"

CAMT_02_BATCH = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-03-01T08:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>STMT-2026-061</Id>
   <Acct><Id><IBAN>BE68539007547034</IBAN></Id></Acct>
   <Ntry>
    <Amt Ccy="EUR">150.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-03-01</Dt></BookgDt>
    <AcctSvcrRef>B-77</AcctSvcrRef>
    <NtryDtls>
     <TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">100.00</Amt></TxAmt></AmtDtls>
      <RltdPties><Dbtr><Nm>Atelier Dupont</Nm></Dbtr></RltdPties>
      <RmtInf><Strd><CdtrRefInf><Ref>202600000192</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>
     <TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">50.00</Amt></TxAmt></AmtDtls>
      <RmtInf><Ustrd>facture +++202/6000/00293+++ merci</Ustrd></RmtInf></TxDtls>
    </NtryDtls>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>"""


@pytest.mark.rule("PAY-1")
def test_written_statement_reads_back_in_versions_02_and_08() -> None:
    entry = BankEntry(
        "S1", "E1", D("102.03"), "EUR", True, date(2026, 3, 2), REF, "Atelier Dupont", "BE71096123456769"
    )
    for version in ("02", "08"):
        (statement,) = parse_camt053(write_camt053("S1", IBAN, (entry,), version=version))
        assert statement.version == version
        assert statement.account_iban == IBAN
        assert statement.entries == (entry,)


@pytest.mark.rule("PAY-1")
def test_batch_entry_gives_one_entry_per_transaction() -> None:
    (statement,) = parse_camt053(CAMT_02_BATCH)
    assert [(e.entry_ref, e.amount, e.reference) for e in statement.entries] == [
        ("B-77/1", D("100.00"), "202600000192"),
        ("B-77/2", D("50.00"), "facture +++202/6000/00293+++ merci"),
    ]
    assert statement.entries[0].debtor_name == "Atelier Dupont"


@pytest.mark.rule("PAY-1")
@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"<Document", "not well-formed XML"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02"/>', "is not camt.053"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>', "no BkToCstmrStmt"),
        (CAMT_02_BATCH.replace(b"<Id>STMT-2026-061</Id>", b""), "has no Id"),
        (CAMT_02_BATCH.replace(b">150.00<", b">15O.00<"), "is not a number"),
        (CAMT_02_BATCH.replace(b">150.00<", b">160.00<"), "do not add up"),
        (CAMT_02_BATCH.replace(b"<CdtDbtInd>CRDT", b"<CdtDbtInd>XXXX"), "CdtDbtInd"),
        (CAMT_02_BATCH.replace(b'Ccy="EUR">150.00', b">150.00"), "without currency"),
        (CAMT_02_BATCH.replace(b"<Dt>2026-03-01</Dt>", b"<Dt>2026-13-01</Dt>"), "bad date"),
        (b"", "not well-formed XML"),
        (CAMT_02_BATCH.replace(b">150.00<", b">1E+999999999<"), "more than 999999999.99"),
        (CAMT_02_BATCH.replace(b">150.00<", b">1000000000.00<"), "more than 999999999.99"),
        (CAMT_02_BATCH.replace(b">150.00<", b">" + b"9" * 5000 + b"<"), "is not an amount"),
        (CAMT_02_BATCH.replace(b">150.00<", b">NaN<"), "not a positive amount"),
        (CAMT_02_BATCH.replace(b'Ccy="EUR">150.00', b'Ccy="EURO">150.00'), "not an ISO 4217 code"),
        (CAMT_02_BATCH.replace(b"STMT-2026-061", b"S" * 36), "longer than 35"),
    ],
)
def test_malformed_statements_are_refused_naming_the_problem(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedStatement, match=problem):
        parse_camt053(data)


class Reads:
    """A file read by the parser, counting the bytes it asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        size = len(self.data) if size < 0 else size
        chunk = self.data[self.offset : self.offset + size]
        self.offset += len(chunk)
        return chunk


def _statement_of(count: int) -> bytes:
    entry = BankEntry("S1", "E", D("1.00"), "EUR", True, date(2026, 3, 2), REF, "A" * 300, None)
    entries = tuple(replace(entry, entry_ref=f"E{n}") for n in range(count))
    return write_camt053("S1", IBAN, entries)


@pytest.mark.rule("PAY-1")
def test_a_statement_over_the_size_cap_is_refused_without_being_read_whole() -> None:
    data = _statement_of(2000)  # about 1.5 MB
    source = Reads(data)
    with pytest.raises(StatementTooLarge) as refused:
        read_camt053(source, max_bytes=200_000)  # type: ignore[arg-type]
    assert refused.value.details == {"field": "statement", "max_bytes": 200_000}
    assert source.offset < 400_000


@pytest.mark.rule("PAY-1")
def test_a_statement_is_read_as_a_stream_with_its_digest_and_long_texts_cut() -> None:
    data = _statement_of(3)
    read = read_camt053(Reads(data))  # type: ignore[arg-type]
    assert read.sha256 == hashlib.sha256(data).hexdigest()
    (statement,) = read.statements
    assert [e.entry_ref for e in statement.entries] == ["E0", "E1", "E2"]
    assert statement.entries[0].debtor_name == "A" * MAX_TEXT
