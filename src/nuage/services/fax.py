"""Received faxes (CFG-7, issue #16), the use cases: keep what a fax call left, list it, find it.

The SIP plane (``nuage.adapters.fax_inbox``) records a fax acting for the virtual fax's account;
the API and the portal list a fax's received faxes and fetch one, seeing only the accounts the
caller may see (TEN-4: another tenant's fax is ``NotFound``, exactly like a missing one). The PDF
lives in the data directory (``pdf_file``), written before the record is committed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from nuage.directory.fax import HEAVY_FAX_DAYS, MAX_REASON, MAX_SENDER, ReceivedFax, heavy_fax_user
from nuage.directory.model import VirtualFax
from nuage.errors import InvalidInput, NotFound
from nuage.services.context import Context
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible
from nuage.services.tenancy import get_customer


def pdf_file(data_dir: Path, fax: ReceivedFax) -> Path:
    """Where a received fax's pages (one PDF) are kept."""
    return data_dir / "faxes" / fax.account_id / f"{fax.id}.pdf"


def _printable(text: str, limit: int) -> str:
    return "".join(c for c in text if c.isprintable())[:limit]


def record_fax(uow: UnitOfWork, fax: ReceivedFax) -> tuple[ReceivedFax, VirtualFax]:
    """A call to a virtual fax ended: keep its record (the SIP plane, acting for the fax's account).
    The texts the far end chose (its identity, the engine's reason) are cut and cleaned."""
    virtual = uow.faxes.find(fax.fax_id)
    if virtual is None or virtual.account_id != fax.account_id:
        raise NotFound("virtual fax", fax.fax_id)
    if fax.pages < 0 or fax.size_bytes < 0:
        raise InvalidInput("pages", "A fax has no negative pages or size")
    clean = replace(
        fax,
        reason=_printable(fax.reason, MAX_REASON),
        sender=_printable(fax.sender, MAX_SENDER),
        caller=_printable(fax.caller, MAX_SENDER),
    )
    return uow.received_faxes.add(clean), virtual


def recipient_language(uow: UnitOfWork, virtual: VirtualFax) -> str | None:
    """The language the fax's e-mail is written in: that of the account's user whose address it is
    sent to, else the account's own (EN, FR or NL); None: neither is known."""
    address = (virtual.email or "").strip().lower()
    for user in uow.users.list(account_id=virtual.account_id) if address else ():
        if (user.email or "").strip().lower() == address and user.language:
            return user.language
    party = uow.parties.find(virtual.account_id)
    return party.language.value if party is not None else None


def list_received(uow: UnitOfWork, ctx: Context, fax_id: str) -> list[ReceivedFax]:
    """A virtual fax's received faxes, oldest first."""
    virtual = get_visible(uow.faxes, ctx, fax_id)
    return uow.received_faxes.list(fax_id=virtual.id, order_by=("received_at", "id"))


def get_received(uow: UnitOfWork, ctx: Context, received_id: str) -> ReceivedFax:
    """A received fax the caller may see (TEN-4)."""
    return get_visible(uow.received_faxes, ctx, received_id)


def mark_emailed(uow: UnitOfWork, received_id: str, at: datetime) -> None:
    """The fax's PDF was e-mailed to the virtual fax's address."""
    fax = uow.received_faxes.find(received_id)
    if fax is not None:
        uow.received_faxes.update(replace(fax, emailed_at=at))


@dataclass(frozen=True)
class FaxUsage:
    """CFG-7: the pages an account received by fax lately, and whether it is warned."""

    account_id: str
    days: int
    pages: int
    heavy: bool


def fax_usage(uow: UnitOfWork, ctx: Context, account_id: str) -> FaxUsage:
    """The pages ``account_id`` received in the last ``HEAVY_FAX_DAYS`` days (CFG-7's warning)."""
    customer = get_customer(uow, ctx, account_id)
    since = ctx.clock.now() - timedelta(days=HEAVY_FAX_DAYS)
    pages = sum(
        fax.pages
        for fax in uow.received_faxes.list(account_id=customer.id, order_by=("received_at", "id"))
        if fax.received_at >= since
    )
    return FaxUsage(customer.id, HEAVY_FAX_DAYS, pages, heavy_fax_user(pages))
