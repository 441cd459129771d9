"""The demo month billed on the in-memory unit of work, for documents, payments and dunning."""

from __future__ import annotations

import pytest

from nuage.adapters.weasyprint_pdf import WeasyPrintRenderer
from nuage.services.einvoicing import PaymentSettings
from nuage.services.payments.documents import DocumentTools
from nuage.services.payments.ports import EInvoiceValidator
from nuage.shared.clock import FrozenClock
from payments_flow import Month1, bill_month1
from platforms import MemoryPlatform


@pytest.fixture
def month1(platform: MemoryPlatform, clock: FrozenClock, einvoice_validator: EInvoiceValidator) -> Month1:
    """January billed, with the default payment settings and the real document tools."""
    tools = DocumentTools(PaymentSettings(), WeasyPrintRenderer(), einvoice_validator)
    return bill_month1(platform, clock, tools)
