"""What an e-invoice check finds (BIL-4): one failed rule (``Finding``), and the refusal naming them.

The check itself (UBL 2.1 XSD, EN 16931 Schematron) is the ``EInvoiceValidator`` port of the
use cases, implemented offline by ``nuage.adapters.einvoice_validation``.
"""

from __future__ import annotations

from dataclasses import dataclass

from nuage.errors import InvalidInput


@dataclass(frozen=True)
class Finding:
    """One failed rule: its ID, severity, where and why."""

    rule_id: str
    severity: str  # "fatal" or "warning"; "schema" for XSD errors
    location: str
    text: str


class EInvoiceInvalid(InvalidInput):
    """BIL-4: an e-invoice that fails the UBL schema or an EN 16931 rule is not issued."""

    error_id = "e-invoice-invalid"

    def __init__(self, number: str, findings: tuple[Finding, ...]) -> None:
        rules = ", ".join(dict.fromkeys(f.rule_id for f in findings))
        detail = "; ".join(f"{f.rule_id}: {f.text}" for f in findings[:5])
        rule_ids = list(dict.fromkeys(f.rule_id for f in findings))
        super().__init__(
            "e-invoice",
            f"e-invoice {number} fails {rules}: {detail}",
            number=number,
            rule_id=rule_ids[0] if rule_ids else None,
            rule_ids=rule_ids,
        )
        self.findings = findings
        self.rule_ids = tuple(dict.fromkeys(f.rule_id for f in findings))
