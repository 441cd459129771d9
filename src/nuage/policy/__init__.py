"""The terms-based call policy: what the SIP data plane may do with a call attempt.

``TermsCallPolicy`` implements the ``CallPolicy`` port of ``nuage.sip.ports`` from the rules of
the terms (EMG-4, PAY-3, CTR-4, SIP-2, SIP-4, CAP-3). It decides from a ``PolicySnapshot`` held in
memory (a storage adapter reloads it in the background) and from its own channel counter, so a
call's decision never waits on the database.
"""

from __future__ import annotations

from nuage.policy.autodialer import AutoDialerBlock, AutoDialerDetector, AutoDialerThresholds, Subject
from nuage.policy.channels import ChannelCounter
from nuage.policy.snapshot import AccountTerms, PolicySnapshot, build_snapshot
from nuage.policy.terms import CallerIdMode, SnapshotSource, StaticSnapshot, TermsCallPolicy

__all__ = [
    "AutoDialerBlock",
    "AutoDialerDetector",
    "AutoDialerThresholds",
    "AccountTerms",
    "CallerIdMode",
    "ChannelCounter",
    "PolicySnapshot",
    "SnapshotSource",
    "StaticSnapshot",
    "Subject",
    "TermsCallPolicy",
    "build_snapshot",
]
