"""The payments' settings from the configuration (composition root, payments side): what
``[payments]`` gives, with the defaults of the use cases for what it omits. ``bootstrap.Platform``
hands the result to the payments and documents use cases.
"""

from __future__ import annotations

from typing import Any

from nuage.config import Settings
from nuage.payments.dunning import DunningPolicy, InterestMode
from nuage.services.einvoicing import PaymentSettings


def payment_settings(settings: Settings) -> PaymentSettings:
    """BIL-4/PAY-1/PAY-2: the use cases' payment settings; what ``[payments]`` omits keeps its default."""
    config = settings.payments
    given = config.model_dump(
        exclude_none=True, include={"iban", "bic", "account_holder", "payment_days", "mail_from"}
    )
    policy: dict[str, Any] = {}
    if config.reminder_days is not None:
        policy["reminder_days"] = tuple(config.reminder_days)
    if config.reminder_fees is not None:
        policy["reminder_fees"] = tuple(config.reminder_fees)
    if config.interest_mode is not None:
        policy["interest_mode"] = InterestMode(config.interest_mode)
    if config.suspend_after_days is not None:
        policy["suspend_after_days"] = config.suspend_after_days
    if config.auto_suspend is not None:
        policy["auto_suspend"] = config.auto_suspend
    return PaymentSettings(
        **given, policy=DunningPolicy(**policy), einvoice_workers=settings.einvoice_workers
    )
