"""The SIP edge of refusals: one table from rule ID to status code and Warning header.

A refused call is answered with the status below and ``Warning: 399 <host> "<RULE-ID> <reason>"``
(RFC 3261 §20.43, code 399 "miscellaneous warning"), so that a refused call leads back to the
clause of the terms that refused it.
"""

from __future__ import annotations

from nuage.sip.ports import Refusal

# rule ID -> (status, reason phrase)
REFUSAL_STATUS: dict[str, tuple[int, str]] = {
    "CAP-3": (486, "Capacity Exceeded"),  # all channels of the account are in use
    "SIP-2": (403, "Caller ID Not Allowed"),
    "SIP-3": (403, "Trunk Not Allowed"),
    "SIP-4": (403, "Automatic Calling Refused"),
    "PAY-1": (403, "Service Suspended"),
    "PAY-3": (403, "Service Suspended"),
    "CTR-4": (403, "Service Interrupted"),
    "CTR-2": (403, "Service Terminated"),
    "CFG-5": (403, "Line Type Refused"),
    "TEN-4": (404, "Not Found"),  # another tenant's destination does not exist for the caller
    "SIP-5": (403, "Forbidden"),
    "CFG-10": (486, "All Lines Busy"),  # every channel of the click-to-call widget is in a call
}
DEFAULT_REFUSAL = (403, "Forbidden")


def refusal_status(rule_id: str) -> tuple[int, str]:
    """(status, reason phrase) for a refusal citing ``rule_id``."""
    return REFUSAL_STATUS.get(rule_id, DEFAULT_REFUSAL)


def warning_header(refusal: Refusal, host: str) -> str:
    """``399 <host> "<RULE-ID> <reason>"`` with quotes and backslashes escaped."""
    text = f"{refusal.rule_id} {refusal.reason}".replace("\\", "\\\\").replace('"', '\\"')
    return f'399 {host} "{text}"'
