"""What a call needs from the server: its collaborators (``CallServices``) and settings.

The server builds one ``CallServices`` at start; admission, the feature codes and every
``CallController`` read their ports, timers and limits from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nuage.directory.widget_tickets import WidgetTickets
from nuage.shared.clock import Clock
from nuage.sip.accounting import Accounting
from nuage.sip.b2bua.legs import LegHost
from nuage.sip.b2bua.media import MediaServices
from nuage.sip.journal import CallJournal
from nuage.sip.ports import CallPolicy, DialPlan, HotDesk
from nuage.sip.registrar import Registrar
from nuage.sip.routing import CallRouting

if TYPE_CHECKING:
    from nuage.sip.b2bua.apps import Applications
    from nuage.sip.b2bua.controller import CallController


@dataclass(frozen=True, slots=True)
class CallSettings:
    """Timers and limits of calls (seconds)."""

    domain: str  # our SIP domain (the realm), used in From/To we create
    no_answer_timeout_s: float = 60.0
    max_call_duration_s: float | None = 4 * 3600.0  # hard ceiling whatever the policy allows
    max_application_duration_s: float = 3600.0  # a call a media application answered (issue #16)
    min_session_expires_s: int = 90  # RFC 4028 Min-SE we accept
    hot_desk_login_code: str = "*11"  # CFG-13: dial *11*<extension>*<PIN> on a shared phone
    hot_desk_logout_code: str = "*12"


@dataclass(slots=True)
class CallServices:
    """What a call needs from the server."""

    host: LegHost
    registrar: Registrar
    dial_plan: DialPlan
    policy: CallPolicy
    accounting: Accounting
    clock: Clock
    settings: CallSettings
    on_started: Callable[[CallController], None]
    on_finished: Callable[[CallController], None]
    hot_desk: HotDesk | None = None
    on_auth_failure: Callable[[str], None] | None = None  # SIP-5: a wrong hot-desk PIN counts
    journal: CallJournal | None = None  # calls in progress, written behind (issue #20)
    media: MediaServices | None = None  # the engine anchored calls' media goes to (None: never anchored)
    applications: Applications | None = None  # media applications: feature codes, diversion (apps)
    live_calls: Callable[[], Iterable[CallController]] = tuple  # the calls in progress (attended transfer)
    routing: CallRouting | None = None  # forwarding and ring groups (issue #15; None: neither)
    round_robin: dict[str, int] = field(default_factory=dict)  # ring group -> its next first member
    ringing: dict[str, CallController] = field(default_factory=dict)  # call id -> a call ringing users
    widgets: WidgetTickets | None = None  # CFG-10: the click-to-call widget's tickets (None: no widget calls)
