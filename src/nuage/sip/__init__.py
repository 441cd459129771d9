"""Nuage's SIP data plane: an asyncio registrar and B2BUA (SIP-1).

Layers, bottom up: ``message`` (model, parser, SDP) → ``transport`` (UDP; ``tcp``, ``tls``) →
``transactions`` and ``transaction_layer`` (RFC 3261 §17, timers from ``timers``) → ``dialogs``
→ ``registrar`` and ``b2bua`` (legs joined by a controller). Everything from the rest of the
platform comes through ``ports``; ``memory`` holds in-memory implementations of them,
``memory_transport`` an in-memory network and ``timers`` virtual time for tests and labs.
``SipServer`` puts it together.
"""

from __future__ import annotations

from nuage.native import BUILD as NATIVE_BUILD  # first: refuses a stale compiled module
from nuage.sip.accounting import CdrWriter, NullAccounting
from nuage.sip.policy import DialPlanPolicy
from nuage.sip.ports import (
    Authorization,
    Binding,
    BindingStore,
    CallAttempt,
    CallOutcome,
    CallPolicy,
    CarrierTrunk,
    CdrRecord,
    CdrSink,
    CredentialStore,
    Destination,
    DeviceDestination,
    DialPlan,
    Direction,
    ExternalDestination,
    Refusal,
    SipAccount,
    UserDestination,
)
from nuage.sip.server import SipServer
from nuage.sip.server_settings import SipSettings


def install_uvloop() -> bool:
    """Use uvloop for new event loops when it is installed; return whether it is."""
    try:
        import uvloop
    except ImportError:
        return False
    import asyncio

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def tune_gc() -> None:
    """Fewer, later garbage collections for a long-running SIP process (call from the entrypoint).

    A call makes a few hundred short-lived objects; with the default gen-0 threshold (700) the
    collector runs every couple of calls. Freezing what exists at start-up (modules, settings,
    loaded bindings) keeps it out of every later scan, and a higher gen-0 threshold makes young
    collections rarer. An ended call leaves no reference cycle in the usual case (its parts are
    freed as it ends: ``CallController._detach_legs``, issue #22); calls with media or a transfer
    still do, for the collector. Higher thresholds were tried: with the server behind (calls
    queued, alive) a young collection scanned them all at once.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


__all__ = [
    "NATIVE_BUILD",
    "Authorization",
    "Binding",
    "BindingStore",
    "CallAttempt",
    "CallOutcome",
    "CallPolicy",
    "CarrierTrunk",
    "CdrRecord",
    "CdrSink",
    "CdrWriter",
    "CredentialStore",
    "Destination",
    "DeviceDestination",
    "DialPlan",
    "DialPlanPolicy",
    "Direction",
    "ExternalDestination",
    "NullAccounting",
    "Refusal",
    "SipAccount",
    "SipServer",
    "SipSettings",
    "UserDestination",
    "install_uvloop",
    "tune_gc",
]
