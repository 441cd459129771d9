"""Rule IDs of the terms (SPEC.md). Code, tests, invoice lines and SIP refusals cite these."""

from __future__ import annotations

from typing import Final

RULES: Final[dict[str, str]] = {
    "TEN-1": "Operator, partners and final customers (direct or indirect)",
    "TEN-2": "White-label branding per partner",
    "TEN-3": "An order records terms version, language and acceptance time",
    "TEN-4": "Strict tenant isolation",
    "TEN-5": "The contracting party is invoiced",
    "CFG-1": "One user per individual, whatever the number of devices",
    "CFG-2": "No-service users: no device, not invoiced, no channels",
    "CFG-3": "Device kinds; some need no user",
    "CFG-4": "Communal rooms: one user per phone unless used by users",
    "CFG-5": "Alarm and lift lines are refused",
    "CFG-6": "Numbers and blocks; each block has a postal address",
    "CFG-7": "Virtual incoming fax",
    "CFG-8": "Conference rooms",
    "CFG-9": "Call recording with legal acknowledgment",
    "CFG-10": "Click-to-call web channels",
    "CFG-11": "Traffic packs",
    "CFG-12": "Sound files with copyright acknowledgment",
    "CFG-13": "Hot-desking",
    "CAP-1": "Channel capacity from billable users",
    "CAP-2": "A pack's channel limit overrides the formula",
    "CAP-3": "Capacity enforced in real time; emergency never refused",
    "CNT-1": "Monthly summary frozen, tamper-evident",
    "CNT-2": "Increases apply at the month-end count",
    "CNT-3": "Billed users fall by at most 10% per quarter",
    "CNT-4": "Declaration audit and regularisation",
    "RAT-1": "Per second, rounded up to the cent per call",
    "RAT-2": "Versioned tariffs, longest-prefix match",
    "RAT-3": "Packs consumed first; emergency calls free",
    "BIL-1": "One-time fees invoiced at order",
    "BIL-2": "Recurring services invoiced in advance; pro rata at start",
    "BIL-3": "Out-of-pack traffic invoiced for the period",
    "BIL-4": "Electronic invoices only",
    "BIL-5": "Time and materials interventions",
    "BIL-6": "Web Meeting invoiced at order",
    "BIL-7": "Number porting out billed",
    "BIL-8": "UCaaS resale licences",
    "BIL-9": "Billing runs are idempotent",
    "BIL-10": "Every invoice line cites its rule and sources",
    "BIL-11": "International numbers taken for 12 months",
    "CTR-1": "Minimum term 24 months",
    "CTR-2": "Termination effective at the end of the period, no refund",
    "CTR-3": "Early-termination balance",
    "CTR-4": "Bankruptcy: service interrupted, billing suspended",
    "PAY-1": "Non-payment: suspension, never termination",
    "PAY-2": "Reminder fees and 1% monthly interest",
    "PAY-3": "Minimum service: emergency calls only",
    "PAY-4": "Defaulting partner: customers moved with their configuration",
    "EMG-1": "Every number block has a postal address",
    "EMG-2": "Emergency caller ID matches the caller's location",
    "EMG-3": "Nomadic and hot-desked devices flagged",
    "EMG-4": "Emergency calls always go through",
    "SIP-1": "Real SIP with digest authentication",
    "SIP-2": "No caller-ID spoofing",
    "SIP-3": "SIP trunking by registration or IP",
    "SIP-4": "Auto-dialers detected and stopped",
    "SIP-5": "Strong credentials, brute-force and scanner defence",
    "API-1": "REST API with developer credentials",
    "API-2": "10 read / 1 write in flight per account",
    "API-3": "API use monitored; clients suspendable",
    "API-4": "Cache headers; terminated clients lose access",
    "SUP-1": "Tickets are the only proof of a request",
    "SUP-2": "Opening hours and out-of-hours critical support",
    "HW-1": "One-year hardware warranty",
    "MTG-1": "Web meeting rooms",
}


def require_rule(rule_id: str) -> str:
    """Return ``rule_id`` if the terms define it; a typo in a rule ID is a programming error."""
    if rule_id not in RULES:
        raise KeyError(f"unknown rule ID {rule_id!r}")
    return rule_id
