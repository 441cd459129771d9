"""Hunting (issue #15): what a call rings next, through forwards, ring groups and failed attempts.

The controller asks ``Hunt.next_step`` for the phones to ring and tells ``Hunt.after_failure`` how
an attempt ended; everything about forwarding and groups lives here:

- a user's forwards (``nuage.sip.routing.ForwardingRule``): unconditional before ringing; busy
  (486/600, and do-not-disturb: 486 Busy Here or the busy forward) and no answer (the user's
  phones ring ``no_answer_s``) after; unregistered when no phone of the user is registered. A
  forward's destination is resolved by the dial plan as if the user had dialled it.
- loops: a forward is followed at most ``MAX_HOPS`` times in a call, never back to a user or a
  group the call already went through (the visited set): such a forward is ignored, and the user
  rings as if it were not set.
- EMG-2: a forward never leads to an emergency number (the emergency services would see the
  forwarding user's caller ID, whose block address is not where the caller stands).
- a forwarded external leg is a call of the forwarding user's account (``forward_legs``: CAP-3,
  SIP-2, its own CDR); towards any forward's destination, a ``Diversion`` header (RFC 5806) names
  the user who forwarded.
- ring groups: ``simultaneous`` rings every member's phones at once for the group's timeout;
  ``sequential`` each member for ``member_timeout_s`` in order; ``round-robin`` likewise,
  starting after the member who was rung first last time (state per group, per node); when the
  group's ``timeout_s`` is over, or every member failed, the fallback (dialled as the group's
  account would dial it) rings, or the call gets 480. Members in do-not-disturb are skipped;
  members' own forwards do not apply to a group's calls.

The hunt also serves a media application's caller sent to a ring group (a menu's choice,
``nuage.sip.b2bua.app_groups``): that call is answered already (``active`` is CONNECTED), and the
leg of the step it joined ends with ``leg_over``.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from nuage.sip.b2bua.callee import Target
from nuage.sip.b2bua.events import Fail
from nuage.sip.b2bua.forward_legs import ForwardedLeg, authorise, journal_entry, leg_ended
from nuage.sip.b2bua.states import CallState
from nuage.sip.b2bua.targets import targets_of
from nuage.sip.ports import (
    CdrRecord,
    Destination,
    ExternalDestination,
    GroupDestination,
    JournalEntry,
    Refusal,
    SipAccount,
    UserDestination,
)
from nuage.sip.responses import refusal_status, warning_header
from nuage.sip.routing import CallRouting, ForwardingRule, RoutedUser
from nuage.sip.tls_sdes import is_secure

if TYPE_CHECKING:
    from nuage.sip.b2bua.controller import CallController

log = logging.getLogger("nuage.sip.hunt")

MAX_HOPS = 5
RETRY_NEXT_ROUTE = frozenset({408, 500, 502, 503, 504})
BUSY = frozenset({486, 600})
EMERGENCY_FORWARD = Refusal("EMG-2", "calls are never forwarded to an emergency number")


@dataclass(frozen=True)
class Item:
    """Something to ring: a destination, or a forward's ``dialled`` text still to resolve."""

    route: Destination | None
    dialled: str | None = None
    by: RoutedUser | None = None  # the user whose forward (or the group whose fallback) led here
    reason: str | None = None  # RFC 5806 diversion reason
    visited: frozenset[str] = frozenset()
    hops: int = 0
    timeout_s: float | None = None
    group: str | None = None  # a member of this ring group
    deadline: datetime | None = None  # the member's group stops ringing then


@dataclass(frozen=True)
class Step:
    """The phones to ring now and how: the controller places one callee leg for it."""

    route: Destination
    targets: list[Target]
    timeout_s: float | None = None  # ring this long, then the hunt goes on (None: the call's timer)
    account: SipAccount | None = None  # who calls, for a forwarded external leg (SIP-2)
    caller_id: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    fresh: bool = False  # a forward or a fallback: the call's no-answer timer starts again


@dataclass
class _Current:
    item: Item
    user: RoutedUser | None = None
    rule: ForwardingRule | None = None
    leg: ForwardedLeg | None = None  # a forwarded external leg (its own attempt and CDR)


class Hunt:
    """The routes of one call, tried in order, expanded through forwards and ring groups.

    It reaches its call through a weak reference: the call owns its hunt, and a call and its parts
    that point at each other are freed only by the garbage collector's passes (issue #22). The
    hunt runs only for a live call (the call's methods and coroutines call it)."""

    __slots__ = (
        "_call",
        "_current",
        "_legs",
        "active",
        "failure",
        "last_user",
        "queue",
        "ringing",
        "timed_out",
    )

    def __init__(self, call: CallController, active: CallState = CallState.ROUTING) -> None:
        self._call = weakref.ref(call)
        self.active = active  # the call's state while it hunts (else it ended)
        self.queue: list[Item] = []
        self.failure: Fail | None = None
        self.timed_out = False  # the current step's ring time ran out
        self.ringing: frozenset[str] = frozenset()  # the users whose phones ring now (call pickup)
        self.last_user: RoutedUser | None = None  # the last user rung or found unreachable (``divert``)
        self._current: _Current | None = None
        self._legs = 0

    @property
    def call(self) -> CallController:
        """The call this hunt rings for."""
        call = self._call()
        if call is None:
            raise ReferenceError("the call of this hunt is gone")
        return call

    def add(self, routes: tuple[Destination, ...]) -> None:
        """The policy's routes, tried in order."""
        self.queue.extend(Item(route) for route in routes)

    def stop(self) -> None:
        """Nothing more to try (the call's no-answer timer ran out)."""
        self.queue.clear()

    # -- choosing the next step --------------------------------------------------------------
    async def next_step(self) -> Step | Fail:
        """The next phones to ring, or the failure the caller gets when nothing is left."""
        while self.queue:
            item = self.queue.pop(0)
            if item.group is not None and item.deadline is not None and self._now() >= item.deadline:
                continue  # the group rang long enough: on to its fallback
            step = await self._expand(item)
            if step is not None:
                self._ring(step)
                return step
        return self.failure or Fail(480, "Temporarily Unavailable")

    def _ring(self, step: Step) -> None:
        """Who rings now, listed for call pickup (``nuage.sip.b2bua.pickup``)."""
        ringing = self.call.services.ringing
        if isinstance(step.route, UserDestination):
            self.ringing = frozenset({step.route.user_id})
        elif isinstance(step.route, GroupDestination) and self.call.services.routing is not None:
            group = self.call.services.routing.group(step.route.group_id)
            self.ringing = frozenset(group.members) if group is not None else frozenset()
        else:
            self.ringing = frozenset()
        if self.ringing:
            ringing[self.call.call_id] = self.call
        else:
            ringing.pop(self.call.call_id, None)

    async def _expand(self, item: Item) -> Step | None:
        if item.route is None:
            item = await self._resolve(item)
            if item.route is None:
                return None
        route = item.route
        if isinstance(route, GroupDestination):
            return self._group(item, route)
        if isinstance(route, UserDestination):
            return await self._user(item, route)
        if isinstance(route, ExternalDestination) and item.by is not None:
            return await self._external(item, route)
        targets = self.targets(route)
        if not targets:
            self.failure = Fail(480, "Temporarily Unavailable")
            return None
        self._current = _Current(item)
        return Step(route, targets, fresh=item.hops > 0, headers=_diversion(item, self._domain))

    async def _resolve(self, item: Item) -> Item:
        """A forward's (or fallback's) destination as the forwarding user's account dials it."""
        assert item.dialled is not None
        assert item.by is not None
        if item.hops > MAX_HOPS:
            log.info("call %s: forward chain longer than %d, not followed", self.call.call_id, MAX_HOPS)
            return item
        route = await self.call.services.dial_plan.resolve(item.by.as_caller(), item.dialled)
        if isinstance(route, ExternalDestination) and route.emergency:  # EMG-2
            log.info("call %s: %s", self.call.call_id, EMERGENCY_FORWARD.reason)
            return replace(item, route=None)
        key = _key(route)
        if route is None or (key is not None and key in item.visited):
            log.info(
                "call %s: forward to %s not followed (unknown or a loop)", self.call.call_id, item.dialled
            )
            return replace(item, route=None)
        return replace(item, route=route)

    def _group(self, item: Item, route: GroupDestination) -> Step | None:
        routing = self.call.services.routing
        group = routing.group(route.group_id) if routing is not None else None
        if routing is None or group is None or group.group_id in item.visited:
            self.failure = Fail(404, "Not Found") if group is None else Fail(482, "Loop Detected")
            return None
        visited = item.visited | {group.group_id}
        members = list(group.members)
        if group.strategy == "round-robin" and members:
            turns = self.call.services.round_robin
            start = turns.get(group.group_id, 0) % len(members)
            turns[group.group_id] = start + 1
            members = members[start:] + members[:start]
        queued: list[Item] = []
        fallback_by = RoutedUser(group.group_id, group.account_id, group.group_id, group.caller_id, None)
        if group.fallback:
            queued.append(Item(None, group.fallback, fallback_by, "no-answer", visited, item.hops + 1))
        deadline = self._now() + timedelta(seconds=group.timeout_s)
        ringing = _ringing(routing, members)
        if group.strategy != "simultaneous":
            self.queue[:0] = [
                Item(
                    user.destination,
                    visited=visited | {user.user_id},
                    hops=item.hops,
                    timeout_s=group.member_timeout_s,
                    group=group.group_id,
                    deadline=deadline,
                )
                for user in ringing
                if user.destination is not None
            ] + queued
            return None
        targets = [
            target
            for user in ringing
            if user.destination is not None
            for target in self.targets(user.destination)
        ]
        self.queue[:0] = queued
        if not targets:
            self.failure = Fail(480, "Temporarily Unavailable")
            return None
        self._current = _Current(replace(item, group=group.group_id))
        return Step(
            route, targets, group.timeout_s, fresh=item.hops > 0, headers=_diversion(item, self._domain)
        )

    async def _user(self, item: Item, route: UserDestination) -> Step | None:
        routing = self.call.services.routing
        user = routing.user(route.user_id) if routing is not None else None
        rule = routing.forwarding(route.user_id) if routing is not None and item.group is None else None
        visited = item.visited | {route.user_id}
        item = replace(item, visited=visited)
        if rule is not None and user is not None:
            if rule.unconditional and await self._follow(item, user, rule.unconditional, "unconditional"):
                return None
            if rule.dnd:
                self.last_user = user
                if not (rule.busy and await self._follow(item, user, rule.busy, "do-not-disturb")):
                    self.failure = Fail(486, "Busy Here")
                return None
        self.last_user = user
        self.last_user = user
        targets = self.targets(route)
        if not targets:
            self.failure = Fail(480, "Temporarily Unavailable")
            if rule is not None and user is not None and rule.unregistered:
                await self._follow(item, user, rule.unregistered, "unavailable")
            return None
        self._current = _Current(item, user, rule)
        timeout = item.timeout_s
        if rule is not None and rule.no_answer:
            timeout = min(timeout or rule.no_answer_s, rule.no_answer_s)
        if item.deadline is not None:
            left = (item.deadline - self._now()).total_seconds()
            timeout = max(0.5, min(timeout or left, left))
        headers = _diversion(item, self._domain)
        return Step(route, targets, timeout, fresh=item.hops > 0 and item.group is None, headers=headers)

    async def _external(self, item: Item, route: ExternalDestination) -> Step | None:
        """A forwarded external leg: authorised as a call of the forwarding user's account."""
        assert item.by is not None
        self._legs += 1
        leg = await authorise(self.call, item.by, route, self._legs)
        if isinstance(leg, Refusal):  # CAP-3, SIP-2, SIP-5...: the forward is refused
            self.failure = _refused(leg, self._domain)
            return None
        if self.call.state is not self.active:  # the call ended while the policy thought
            leg_ended(self.call, leg, 487, None, self._now())  # its channel given back at once
            return None
        self._current = _Current(item, leg=leg)
        headers = _diversion(item, self._domain)
        return Step(
            route,
            self.targets(route),
            account=item.by.as_caller(),
            caller_id=leg.caller_id,
            headers=headers,
            fresh=True,
        )

    async def _follow(self, item: Item, user: RoutedUser, dialled: str, reason: str) -> bool:
        """Ring ``user``'s forward to ``dialled`` next, unless it is not to be followed (see ``_resolve``)."""
        resolved = await self._resolve(Item(None, dialled, user, reason, item.visited, item.hops + 1))
        if resolved.route is None:
            return False
        self.queue.insert(0, resolved)
        return True

    def _forward(self, item: Item, user: RoutedUser, dialled: str, reason: str) -> bool:
        """Queue ``user``'s forward to ``dialled`` first (resolved when its turn comes)."""
        if item.hops >= MAX_HOPS:
            return False
        self.queue.insert(0, Item(None, dialled, user, reason, item.visited, item.hops + 1))
        return True

    # -- after an attempt ---------------------------------------------------------------------
    def after_failure(self, failure: Fail) -> Fail | None:
        """The current step failed: None when the hunt goes on, else what the caller gets."""
        timed_out, self.timed_out = self.timed_out, False
        self.ringing = frozenset()
        if timed_out:
            failure = Fail(480, "No Answer")
        current, self._current = self._current, None
        if current is not None and current.leg is not None:
            leg_ended(self.call, current.leg, failure.status, None, self._now())
        self.failure = failure
        goes_on = False
        if current is not None and current.rule is not None and current.user is not None:
            rule, user = current.rule, current.user
            if failure.status in BUSY and rule.busy:
                goes_on = self._forward(current.item, user, rule.busy, "user-busy")
            elif timed_out and rule.no_answer:
                goes_on = self._forward(current.item, user, rule.no_answer, "no-answer")
        if current is not None and current.item.group is not None:
            goes_on = True  # the next member, or the group's fallback
        if failure.status in RETRY_NEXT_ROUTE:
            goes_on = True
        return None if goes_on and self.queue else failure

    @property
    def legs_in_progress(self) -> tuple[str, ...]:
        """CAP-3: the channel holders (``;fwd-N`` ids) of the forwarded external leg in progress."""
        current = self._current
        return (current.leg.attempt.call_id,) if current is not None and current.leg is not None else ()

    def journal_entries(self) -> list[JournalEntry]:
        """What the forwarded external leg in progress needs of a CDR if the node died now (issue #20)."""
        current = self._current
        return (
            [journal_entry(self.call, current.leg)] if current is not None and current.leg is not None else []
        )

    def leg_over(self, status: int, answered_at: datetime | None) -> None:
        """The leg of the step an application's caller joined ended: a forwarded external leg's CDR."""
        current, self._current = self._current, None
        if current is not None and current.leg is not None:
            leg_ended(self.call, current.leg, status, answered_at, self._now())

    def ended(self, record: CdrRecord) -> None:
        """The call ended with ``record``: the forwarded external leg in progress writes its CDR."""
        self.call.services.ringing.pop(self.call.call_id, None)
        self.ringing = frozenset()
        current, self._current = self._current, None
        if current is not None and current.leg is not None:
            leg_ended(self.call, current.leg, record.sip_status, record.answered_at, record.ended_at)

    # -- helpers -----------------------------------------------------------------------------
    def targets(self, route: Destination) -> list[Target]:
        """Where ``route`` rings now (RFC 5630: a ``sips`` call only over TLS)."""
        call = self.call
        dialled = call.attempt.dialled if call.attempt is not None else call.request.uri.user
        targets = targets_of(route, call.services.registrar, dialled)
        if call.request.uri.scheme == "sips":
            targets = [target for target in targets if is_secure(target.destination.transport)]
        return targets

    def _now(self) -> datetime:
        return self.call.services.clock.now()

    @property
    def _domain(self) -> str:
        return self.call.services.settings.domain


def _key(route: Destination | None) -> str | None:
    if isinstance(route, UserDestination):
        return route.user_id
    if isinstance(route, GroupDestination):
        return route.group_id
    return None


def _ringing(routing: CallRouting, members: list[str]) -> list[RoutedUser]:
    """The members a group's call rings: known users with a device, not in do-not-disturb."""
    found = []
    for member in members:
        user = routing.user(member)
        rule = routing.forwarding(member)
        if user is not None and user.destination is not None and not (rule is not None and rule.dnd):
            found.append(user)
    return found


def _refused(refusal: Refusal, domain: str) -> Fail:
    status, phrase = refusal_status(refusal.rule_id)
    return Fail(status, phrase, warning_header(refusal, domain))


def _diversion(item: Item, domain: str) -> tuple[tuple[str, str], ...]:
    """RFC 5806: who forwarded the call here, and why (nothing for a call not forwarded)."""
    if item.by is None or item.reason is None:
        return ()
    who = item.by.caller_id or item.by.user_id
    return (("diversion", f"<sip:{who}@{domain}>;reason={item.reason};counter={item.hops}"),)
