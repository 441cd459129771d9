from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from nuage.payments.camt import BankEntry, MalformedStatement, parse_camt053, write_camt053

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
    ],
)
def test_malformed_statements_are_refused_naming_the_problem(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedStatement, match=problem):
        parse_camt053(data)
