"""States of call legs and of the call that joins them."""

from __future__ import annotations

from enum import StrEnum


class LegState(StrEnum):
    """One leg's life."""

    IDLE = "idle"
    TRYING = "trying"  # INVITE received (caller) or sent (callee)
    RINGING = "ringing"  # a provisional with a dialog
    CONNECTED = "connected"  # 2xx sent/received
    DISCONNECTED = "disconnected"  # final non-2xx, BYE or CANCEL


class CallState(StrEnum):
    """The controller's view of the call."""

    IDLE = "idle"
    WAIT_ROUTE = "wait-route"  # asking the policy
    ROUTING = "routing"  # callee leg(s) being tried
    CONNECTED = "connected"
    DEAD = "dead"
