"""Bank statements in ISO 20022 camt.053 (PAY-1): parsed into credit entries to match.

Any ``urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN`` version is read (02 and later: the
elements used here did not move). One entry (``Ntry``) may batch several transactions
(``NtryDtls/TxDtls``); each transaction becomes one ``BankEntry`` whose ``entry_ref`` is
the entry's reference plus the transaction's position, so re-importing a statement finds
the same keys (idempotence is enforced by storage on ``(statement_id, entry_ref)``).

The payment reference is taken from the structured creditor reference
(``RmtInf/Strd/CdtrRefInf/Ref``), else from the unstructured remittance text (a
``+++xxx/xxxx/xxxxx+++`` in it).

Bounds: a file is read as a stream (``read_camt053``), entry by entry, and refused once it passes
``MAX_STATEMENT_BYTES`` (``StatementTooLarge``), so a huge file never sits in memory whole; an amount
is at most ``MAX_AMOUNT`` with cents; ids are at most as long as ISO 20022 allows (``Max35Text``, the
IBAN 34); free texts (remittance, debtor name) are cut at ``MAX_TEXT`` characters.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from lxml import etree

from nuage.errors import InvalidInput

_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})")
_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_STATEMENT_BYTES = 20 * 1024 * 1024  # a month of a busy account's statement is a few megabytes
MAX_AMOUNT = Decimal("999999999.99")  # one entry; more is a corrupt file, not a payment
MAX_ID = 35  # ISO 20022 Max35Text: statement ids and entry references
MAX_TEXT = 200  # remittance text and names are kept up to this


class MalformedStatement(InvalidInput):
    """PAY-1: a bank statement that cannot be read; the message says what is wrong and where."""

    error_id = "malformed-statement"

    def __init__(self, message: str) -> None:
        super().__init__("statement", f"malformed camt.053 statement: {message}")


class StatementTooLarge(InvalidInput):
    """PAY-1: a bank statement file larger than the import takes."""

    error_id = "statement-too-large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            "statement",
            f"the statement file is larger than {limit} bytes: export one statement per day or week",
            max_bytes=limit,
        )


@dataclass(frozen=True)
class BankEntry:
    """PAY-1: one credit or debit on the operator's account, as the bank reported it."""

    statement_id: str
    entry_ref: str
    amount: Decimal  # positive
    currency: str
    credit: bool  # CRDT: money in; DBIT: money out (refunds, fees), never matched to invoices
    booked_on: date
    reference: str | None  # structured or free remittance text
    debtor_name: str | None
    debtor_iban: str | None


@dataclass(frozen=True)
class Statement:
    """PAY-1: one account statement of a camt.053 file."""

    statement_id: str
    account_iban: str | None
    entries: tuple[BankEntry, ...]
    version: str


@dataclass(frozen=True)
class StatementFile:
    """PAY-1: what a camt.053 file holds, with the SHA-256 of its bytes."""

    statements: tuple[Statement, ...]
    sha256: str


def _text(node: etree._Element, path: str, ns: dict[str, str]) -> str | None:
    found = node.find(path, ns)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def _free_text(value: str | None) -> str | None:
    return None if value is None else value[:MAX_TEXT]


def _bounded_id(value: str | None, what: str, limit: int = MAX_ID) -> str | None:
    if value is not None and len(value) > limit:
        raise MalformedStatement(f"{what} {value[:40]!r}... is longer than {limit} characters")
    return value


def _date(node: etree._Element, path: str, ns: dict[str, str]) -> date | None:
    element = node.find(path, ns)
    if element is None:
        return None
    raw = _text(element, "c:Dt", ns) or _text(element, "c:DtTm", ns)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError as exc:
        raise MalformedStatement(f"bad date {raw!r} in {etree.QName(element).localname}") from exc


def _amount(node: etree._Element, where: str) -> tuple[Decimal, str]:
    if node.text is None:
        raise MalformedStatement(f"{where}: empty amount")
    text = node.text.strip()
    if len(text) > 32:
        raise MalformedStatement(f"{where}: amount {text[:32]!r}... is not an amount")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise MalformedStatement(f"{where}: amount {text!r} is not a number") from exc
    if not amount.is_finite() or amount < 0:
        raise MalformedStatement(f"{where}: amount {text!r} is not a positive amount in cents")
    if amount > MAX_AMOUNT:
        raise MalformedStatement(f"{where}: amount {text!r} is more than {MAX_AMOUNT}")
    if amount != amount.quantize(Decimal("0.01")):
        raise MalformedStatement(f"{where}: amount {text!r} is not a positive amount in cents")
    currency = node.get("Ccy")
    if not currency:
        raise MalformedStatement(f"{where}: amount without currency (Ccy)")
    if not _CURRENCY.fullmatch(currency):
        raise MalformedStatement(f"{where}: currency {currency[:10]!r} is not an ISO 4217 code")
    return amount, currency


def _debtor_name(node: etree._Element, ns: dict[str, str]) -> str | None:
    return _free_text(
        _text(node, ".//c:RltdPties/c:Dbtr/c:Nm", ns) or _text(node, ".//c:Dbtr/c:Pty/c:Nm", ns)
    )


def _reference(node: etree._Element, ns: dict[str, str]) -> str | None:
    structured = _text(node, ".//c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", ns)
    if structured:
        return _free_text(structured)
    free = [element.text.strip() for element in node.iterfind(".//c:RmtInf/c:Ustrd", ns) if element.text]
    return _free_text(" ".join(free)) or None


class _Capped(io.RawIOBase):
    """A binary stream read through, hashed and refused once it passes ``limit`` bytes."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        super().__init__()
        self.source = source
        self.limit = limit
        self.size = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size if size is not None and size > 0 else 64 * 1024)
        self.size += len(chunk)
        if self.size > self.limit:
            raise StatementTooLarge(self.limit)
        self.digest.update(chunk)
        return chunk


def parse_camt053(data: bytes, *, max_bytes: int = MAX_STATEMENT_BYTES) -> tuple[Statement, ...]:
    """PAY-1: the statements of a camt.053 file; raises ``MalformedStatement`` naming the problem."""
    return read_camt053(io.BytesIO(data), max_bytes=max_bytes).statements


def read_camt053(source: BinaryIO, *, max_bytes: int = MAX_STATEMENT_BYTES) -> StatementFile:
    """PAY-1: a camt.053 file read as a stream, entry by entry (each entry's tree freed once read);
    ``StatementTooLarge`` past ``max_bytes``, ``MalformedStatement`` naming any other problem."""
    stream = _Capped(source, max_bytes)
    events = etree.iterparse(
        stream, events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=False
    )
    ns: dict[str, str] = {}
    version = ""
    statements: list[Statement] = []
    entries: list[BankEntry] = []
    position = 0  # of the entry in its statement
    containers = 0
    try:
        for event, element in events:
            if not ns:  # the root's start
                version = _version(element)
                ns = {"c": etree.QName(element).namespace or ""}
                continue
            parent = element.getparent()
            if event != "end" or parent is None:
                continue
            name, parent_name = etree.QName(element).localname, etree.QName(parent).localname
            if name == "BkToCstmrStmt" and parent.getparent() is None:
                containers += 1
            elif name == "Ntry" and parent_name == "Stmt":
                position += 1
                entries.extend(_entries(_statement_id(parent, ns), position, element, ns))
                element.clear()  # the entry is read: free its tree
            elif name == "Stmt":
                if parent_name == "BkToCstmrStmt":
                    iban = _bounded_id(_text(element, "c:Acct/c:Id/c:IBAN", ns), "IBAN", 34)
                    statements.append(Statement(_statement_id(element, ns), iban, tuple(entries), version))
                entries, position = [], 0
                element.clear()
    except etree.XMLSyntaxError as exc:
        raise MalformedStatement(f"not well-formed XML ({exc})") from exc
    if not containers:
        raise MalformedStatement("no BkToCstmrStmt element")
    if not statements:
        raise MalformedStatement("no statement (Stmt) in the file")
    return StatementFile(tuple(statements), stream.digest.hexdigest())


def _version(root: etree._Element) -> str:
    match = _NAMESPACE.fullmatch(etree.QName(root).namespace or "")
    if match is None:
        raise MalformedStatement(f"namespace {etree.QName(root).namespace!r} is not camt.053.001.NN")
    version = match.group(1)
    if int(version) < 2:
        raise MalformedStatement(f"camt.053.001.{version} is older than 02")
    return version


def _statement_id(statement: etree._Element, ns: dict[str, str]) -> str:
    statement_id = _bounded_id(_text(statement, "c:Id", ns), "statement Id")
    if not statement_id:
        raise MalformedStatement("a statement (Stmt) has no Id")
    return statement_id


def _entries(statement_id: str, position: int, entry: etree._Element, ns: dict[str, str]) -> list[BankEntry]:
    where = f"statement {statement_id}, entry {position}"
    amount_node = entry.find("c:Amt", ns)
    if amount_node is None:
        raise MalformedStatement(f"{where}: no Amt")
    amount, currency = _amount(amount_node, where)
    indicator = _text(entry, "c:CdtDbtInd", ns)
    if indicator not in ("CRDT", "DBIT"):
        raise MalformedStatement(f"{where}: CdtDbtInd is {indicator!r}, not CRDT or DBIT")
    booked_on = _date(entry, "c:BookgDt", ns) or _date(entry, "c:ValDt", ns)
    if booked_on is None:
        raise MalformedStatement(f"{where}: no booking or value date")
    entry_ref = (
        _text(entry, "c:NtryRef", ns)
        or _text(entry, "c:AcctSvcrRef", ns)
        or hashlib.sha256(etree.tostring(entry, method="c14n")).hexdigest()[:32]
    )
    _bounded_id(entry_ref, f"{where}: reference")
    details = entry.findall("c:NtryDtls/c:TxDtls", ns)
    if len(details) <= 1:
        node = details[0] if details else entry
        return [
            BankEntry(
                statement_id,
                entry_ref,
                amount,
                currency,
                indicator == "CRDT",
                booked_on,
                _reference(node, ns),
                _debtor_name(node, ns),
                _bounded_id(_text(node, ".//c:RltdPties/c:DbtrAcct/c:Id/c:IBAN", ns), "debtor IBAN", 34),
            )
        ]
    batch = []
    for index, tx in enumerate(details, start=1):
        tx_amount_node = tx.find(".//c:AmtDtls/c:TxAmt/c:Amt", ns)
        if tx_amount_node is None:
            tx_amount_node = tx.find("c:Amt", ns)
        if tx_amount_node is None:
            raise MalformedStatement(f"{where}, transaction {index}: no amount in a batch entry")
        tx_amount, tx_currency = _amount(tx_amount_node, f"{where}, transaction {index}")
        batch.append(
            BankEntry(
                statement_id,
                f"{entry_ref}/{index}",
                tx_amount,
                tx_currency,
                indicator == "CRDT",
                booked_on,
                _reference(tx, ns),
                _debtor_name(tx, ns),
                _bounded_id(_text(tx, ".//c:RltdPties/c:DbtrAcct/c:Id/c:IBAN", ns), "debtor IBAN", 34),
            )
        )
    if sum((item.amount for item in batch), Decimal(0)) != amount:
        raise MalformedStatement(f"{where}: the transactions do not add up to the entry amount {amount}")
    return batch


def write_camt053(
    statement_id: str,
    account_iban: str,
    entries: tuple[BankEntry, ...],
    *,
    version: str = "08",
    created_at: str = "2026-01-01T00:00:00",
) -> bytes:
    """PAY-1: a camt.053 statement holding ``entries`` (for demos and tests; banks write the real ones)."""
    namespace = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"
    root = etree.Element(f"{{{namespace}}}Document", nsmap={None: namespace})  # type: ignore[dict-item]

    def sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{namespace}}}{tag}", attributes)
        if text is not None:
            element.text = text
        return element

    container = sub(root, "BkToCstmrStmt")
    header = sub(container, "GrpHdr")
    sub(header, "MsgId", f"MSG-{statement_id}")
    sub(header, "CreDtTm", created_at)
    stmt = sub(container, "Stmt")
    sub(stmt, "Id", statement_id)
    sub(stmt, "CreDtTm", created_at)
    sub(sub(sub(stmt, "Acct"), "Id"), "IBAN", account_iban)
    for entry in entries:
        node = sub(stmt, "Ntry")
        sub(node, "NtryRef", entry.entry_ref)
        sub(node, "Amt", f"{entry.amount:.2f}", Ccy=entry.currency)
        sub(node, "CdtDbtInd", "CRDT" if entry.credit else "DBIT")
        sub(sub(node, "Sts"), "Cd", "BOOK") if int(version) >= 4 else sub(node, "Sts", "BOOK")
        sub(sub(node, "BookgDt"), "Dt", entry.booked_on.isoformat())
        sub(sub(node, "ValDt"), "Dt", entry.booked_on.isoformat())
        sub(node, "AcctSvcrRef", f"BANK-{entry.entry_ref}")
        sub(sub(sub(node, "BkTxCd"), "Prtry"), "Cd", "TRF")
        tx = sub(sub(node, "NtryDtls"), "TxDtls")
        parties = sub(tx, "RltdPties")
        if entry.debtor_name:
            debtor = sub(parties, "Dbtr")
            if int(version) >= 8:
                sub(sub(debtor, "Pty"), "Nm", entry.debtor_name)
            else:
                sub(debtor, "Nm", entry.debtor_name)
        if entry.debtor_iban:
            sub(sub(sub(parties, "DbtrAcct"), "Id"), "IBAN", entry.debtor_iban)
        if entry.reference:
            remittance = sub(tx, "RmtInf")
            if entry.reference.startswith("+++"):
                ref_info = sub(sub(remittance, "Strd"), "CdtrRefInf")
                sub(sub(sub(ref_info, "Tp"), "CdOrPrtry"), "Cd", "SCOR")
                sub(ref_info, "Ref", entry.reference)
            else:
                sub(remittance, "Ustrd", entry.reference)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
