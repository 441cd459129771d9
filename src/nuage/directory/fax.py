"""Received faxes (CFG-7, issue #16): what a call to a virtual fax left, and how it is judged.

Owns ``FaxStatus``, ``ReceivedFax`` (one fax call: who sent it, its pages, its status and, when
it failed or stopped early, the reason the fax engine gave) and ``fax_status``, the rule that
tells a received fax from a partial or a failed one, and ``heavy_fax_user``, the one that says
who is warned that fax is best effort. The pages themselves (one PDF) live in the
data directory; the record keeps their size.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

HEAVY_FAX_PAGES = 100  # CFG-7: pages received in HEAVY_FAX_DAYS that make an account a heavy fax user
HEAVY_FAX_DAYS = 30
MAX_REASON = 200  # the fax engine's text, cut to this
MAX_SENDER = 64  # a T.30 identity is at most 20 characters; a caller number fits too


class FaxStatus(enum.StrEnum):
    RECEIVED = "received"  # T.30 ended well, with pages
    PARTIAL = "partial"  # some pages, then a failure (its reason kept)
    FAILED = "failed"  # no page


def fax_status(ok: bool, pages: int) -> FaxStatus:
    """CFG-7: received when the fax engine ended well with pages; partial with pages before a
    failure (the caller hung up, the line broke); failed with no page, whatever the engine said."""
    if pages <= 0:
        return FaxStatus.FAILED
    return FaxStatus.RECEIVED if ok else FaxStatus.PARTIAL


def heavy_fax_user(pages_received: int) -> bool:
    """CFG-7: fax is best effort; an account that received ``HEAVY_FAX_PAGES`` pages or more in the
    last ``HEAVY_FAX_DAYS`` days is warned (portal and API) to keep an analogue line."""
    return pages_received >= HEAVY_FAX_PAGES


@dataclass(frozen=True)
class ReceivedFax:
    """One call to a virtual fax: the sender, the pages received and how it ended."""

    id: str
    fax_id: str  # the VirtualFax the number leads to
    account_id: str
    received_at: datetime
    status: FaxStatus
    pages: int
    reason: str  # the fax engine's words ("OK", "The call dropped prematurely"...)
    sender: str = ""  # the sending machine's identity (TSI), usually its number
    caller: str = ""  # the calling number as presented
    size_bytes: int = 0  # of the PDF (0: no page)
    emailed_at: datetime | None = None
