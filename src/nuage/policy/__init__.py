"""The terms-based call policy: what the SIP data plane may do with a call attempt.

``TermsCallPolicy`` implements the ``CallPolicy`` port of ``nuage.sip.ports`` from the rules of
the terms (EMG-4, PAY-3, CTR-4, SIP-2, SIP-4, SIP-5, CAP-3). It decides from a ``PolicySnapshot``
held in memory (a storage adapter reloads it in the background) and from its channel counter
(in memory, or shared by several SIP nodes in Redis), so a call's decision never waits on the
database.
"""

from __future__ import annotations

from nuage.policy.autodialer import (
    AutoDialerBlock,
    AutoDialerDetector,
    AutoDialerThresholds,
    JournalEntry,
    Subject,
)
from nuage.policy.channels import ChannelCounter, Channels, trunk_holder
from nuage.policy.snapshot import AccountTerms, PolicySnapshot, TrunkTerms, build_snapshot
from nuage.policy.spending import DailySpend, price_of
from nuage.policy.terms import CallerIdMode, SnapshotSource, StaticSnapshot, TermsCallPolicy

__all__ = [
    "AccountTerms",
    "AutoDialerBlock",
    "AutoDialerDetector",
    "AutoDialerThresholds",
    "CallerIdMode",
    "ChannelCounter",
    "Channels",
    "DailySpend",
    "JournalEntry",
    "PolicySnapshot",
    "SnapshotSource",
    "StaticSnapshot",
    "Subject",
    "TermsCallPolicy",
    "TrunkTerms",
    "build_snapshot",
    "price_of",
    "trunk_holder",
]
