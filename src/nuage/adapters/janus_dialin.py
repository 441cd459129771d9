"""Phones into Web Meeting rooms (MTG-1, BIL-6): ``JanusMeetingBridge``, the SIP plane's
``MeetingBridge`` over the meeting use cases and Janus's audio bridge.

The checks are the browsers' (``rooms.join_meeting``: the PIN, the lock, the payment, the room
opened on its gateway instance if it was not yet), run in a worker thread. The phone then joins the
room's audio bridge as a plain RTP participant (Janus's ``join`` with an ``rtp`` object: where Nuage's
media engine takes the gateway's RTP, and the G.711 codec of the call); Janus answers with where it
takes the phone's RTP. Those requests go over Janus's HTTP API without blocking the event loop
(``httpx.AsyncClient``), each bounded by the instance's timeout; the join's answer is an event,
read by long poll. The application checks the leg every few seconds (the phone still in the room:
the host may remove it; the check also keeps the session alive), and the session is destroyed when
the phone leaves (Janus then removes the participant).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import httpx

from nuage.directory.meetings import MeetingStatus, require_paid
from nuage.errors import InvalidInput, NotFound, NuageError, TermViolation
from nuage.janus_settings import JanusSettings
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.einvoicing import PaymentSettings
from nuage.services.meetings import rooms as m
from nuage.services.meetings.ports import MeetingGateways
from nuage.shared.clock import Clock
from nuage.sip.attendant.ports import MeetingRefused

AUDIOBRIDGE = "janus.plugin.audiobridge"
CODECS = {0: "pcmu", 8: "pcma"}
JOIN_WAIT_S = 10.0


class JanusAudioLeg:
    """One phone in a room's audio bridge: the Janus session holding it."""

    def __init__(self, http: httpx.AsyncClient, url: str, session: int, handle: int, room: int) -> None:
        self._http = http
        self._url = url
        self._session = session
        self._handle = handle
        self._room = room
        self.participant_id: int | None = None
        self.host = ""
        self.port = 0

    async def keepalive(self) -> None:
        """Whether the phone is still in the room (the host may have removed it); any request on the
        session also keeps it alive."""
        body = {"janus": "message", "body": {"request": "listparticipants", "room": self._room}}
        answer = await _request(self._http, f"{self._url}/{self._session}/{self._handle}", body)
        if answer.get("janus") == "error":
            raise MeetingRefused("MTG-1", "the gateway dropped the phone's session")
        people = answer.get("plugindata", {}).get("data", {}).get("participants", [])
        if self.participant_id not in {person.get("id") for person in people}:
            raise MeetingRefused("MTG-1", "the phone is no longer in the room (removed by the host)")

    async def leave(self) -> None:
        try:
            await _request(self._http, f"{self._url}/{self._session}", {"janus": "destroy"})
        except MeetingRefused:
            pass  # gone already
        finally:
            await self._http.aclose()


async def _request(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        answer = await http.post(url, json={"transaction": secrets.token_hex(8), **body})
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
    except (httpx.HTTPError, ValueError) as error:
        raise MeetingRefused("MTG-1", f"the gateway did not answer ({type(error).__name__})") from error
    return found


class JanusMeetingBridge:
    """``MeetingBridge`` on the meeting use cases and the rooms' Janus instances."""

    def __init__(
        self,
        uow: Callable[[], Any],
        clock: Clock,
        gateways: MeetingGateways,
        settings: JanusSettings,
        payments: PaymentSettings,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._gateways = gateways
        self._urls = {instance.name: instance.url for instance in settings.gateways()}
        self._first = next(iter(self._urls))
        self._timeout_s = settings.timeout_s
        self._payments = payments

    def _language(self, room_id: str) -> str:
        uow: BillingUnitOfWork
        with self._uow() as uow:
            try:
                room = m.meeting_room_for_visitor(uow, room_id)
                paid = room.status is MeetingStatus.ACTIVE or m.invoice_paid(
                    uow, self._payments, room.invoice_number
                )
                require_paid(room, paid=paid)
            except NotFound as error:
                raise MeetingRefused("MTG-1", str(error)) from error
            except TermViolation as error:
                raise MeetingRefused(error.rule_id, str(error)) from error
            return str(uow.parties.get(room.account_id).language)

    async def language(self, room_id: str) -> str:
        return await asyncio.to_thread(self._language, room_id)

    def _ticket(self, room_id: str, pin: str) -> m.JoinTicket:
        uow: BillingUnitOfWork
        with self._uow() as uow:
            try:
                return m.join_meeting(uow, self._clock, room_id, pin, self._gateways, self._payments)
            except InvalidInput as error:
                rule = str(error.details.get("rule_id", "MTG-1"))
                raise MeetingRefused(rule, str(error), wrong_pin=error.field == "pin") from error
            except TermViolation as error:
                raise MeetingRefused(error.rule_id, str(error)) from error
            except NuageError as error:
                raise MeetingRefused("MTG-1", str(error)) from error

    async def enter(
        self, room_id: str, pin: str, *, display: str, rtp_host: str, rtp_port: int, payload_type: int
    ) -> JanusAudioLeg:
        if not pin.isdigit() or payload_type not in CODECS:
            raise MeetingRefused("MTG-1", "Wrong PIN for this meeting room", wrong_pin=True)
        ticket = await asyncio.to_thread(self._ticket, room_id, pin)
        url = self._urls.get(ticket.gateway_instance or self._first)
        if url is None:
            raise MeetingRefused("MTG-1", "the room's gateway instance is no longer configured")
        http = httpx.AsyncClient(timeout=self._timeout_s)
        try:
            return await self._join(http, url, ticket, display, rtp_host, rtp_port, payload_type)
        except BaseException:
            await http.aclose()
            raise

    async def _join(
        self,
        http: httpx.AsyncClient,
        url: str,
        ticket: m.JoinTicket,
        display: str,
        rtp_host: str,
        rtp_port: int,
        payload_type: int,
    ) -> JanusAudioLeg:
        created = await _request(http, url, {"janus": "create"})
        session = int(created["data"]["id"])
        attached = await _request(http, f"{url}/{session}", {"janus": "attach", "plugin": AUDIOBRIDGE})
        handle = int(attached["data"]["id"])
        leg = JanusAudioLeg(http, url, session, handle, ticket.gateway_room)
        join = {
            "request": "join",
            "room": ticket.gateway_room,
            "pin": ticket.gateway_pin,
            "display": display[:80],
            "codec": CODECS[payload_type],
            "rtp": {"ip": rtp_host, "port": rtp_port, "payload_type": payload_type},
        }
        await _request(http, f"{url}/{session}/{handle}", {"janus": "message", "body": join})
        try:
            async with asyncio.timeout(JOIN_WAIT_S):
                while True:
                    polled = await http.get(f"{url}/{session}", params={"maxev": 5})
                    events = polled.json()
                    for event in events if isinstance(events, list) else [events]:
                        data = event.get("plugindata", {}).get("data", {})
                        if "error_code" in data:
                            raise MeetingRefused("MTG-1", f"the gateway refused: {data.get('error')}")
                        if data.get("audiobridge") == "joined" and "rtp" in data:
                            leg.host, leg.port = str(data["rtp"]["ip"]), int(data["rtp"]["port"])
                            leg.participant_id = int(data["id"])
                            return leg
        except (TimeoutError, httpx.HTTPError, ValueError) as error:
            await _request(http, f"{url}/{session}", {"janus": "destroy"})
            raise MeetingRefused("MTG-1", "the gateway did not let the phone in") from error
        except MeetingRefused:
            await _request(http, f"{url}/{session}", {"janus": "destroy"})
            raise
