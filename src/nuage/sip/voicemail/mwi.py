"""Message waiting indication: SUBSCRIBE/NOTIFY ``message-summary`` (RFC 3842 over RFC 6665).

Owns the subscriptions of users' phones to their voicemail: a SUBSCRIBE with ``Event:
message-summary`` is digest-authenticated (401), accepted for a device of a user who watches at
least one box (their own, shared ones they are a member of), and answered 200 with the granted
``Expires``; a NOTIFY follows at once with the current summary, then on every change of a watched
box (a message left, heard or deleted) and when the subscription ends (``Expires: 0``, or its time
ran out). Nothing is sent to a phone that did not subscribe. Other events get 489 Bad Event; an
``Expires`` under the minimum 423 with ``Min-Expires``; a refresh for no subscription 481.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from nuage.sip.b2bua.legs import LegHost
from nuage.sip.dialogs import Dialog
from nuage.sip.identifiers import new_tag
from nuage.sip.message import SipResponse
from nuage.sip.registrar import Registrar
from nuage.sip.timers import Cancellable
from nuage.sip.transactions import ResponseHandler, ServerTransaction
from nuage.sip.voicemail.ports import VoicemailStore

log = logging.getLogger("nuage.sip.mwi")

EVENT = "message-summary"
CONTENT_TYPE = "application/simple-message-summary"


@dataclass(frozen=True, slots=True)
class MwiSettings:
    """How long subscriptions last (seconds)."""

    default_expires: int = 3600
    max_expires: int = 3600
    min_expires: int = 60


def summary(new: int, old: int, account: str) -> bytes:
    """An RFC 3842 body: waiting or not, the account, the voice messages new/old."""
    waiting = "yes" if new else "no"
    lines = [f"Messages-Waiting: {waiting}", f"Message-Account: {account}", f"Voice-Message: {new}/{old}"]
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass(slots=True)
class Subscription:
    """One phone's subscription: its dialog, its user, until when it lasts."""

    dialog: Dialog
    transport: str
    user_id: str
    account_uri: str
    expiry: Cancellable | None = None


class MessageWaiting:
    """The SUBSCRIBE/NOTIFY side of voicemail, on the SIP server."""

    def __init__(
        self,
        host: LegHost,
        registrar: Registrar,
        store: VoicemailStore,
        domain: str,
        settings: MwiSettings = MwiSettings(),
    ) -> None:
        self.host = host
        self.registrar = registrar
        self.store = store
        self.domain = domain
        self.settings = settings
        self.subscriptions: dict[tuple[str, str], Subscription] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        store.listen(self._changed)

    async def on_subscribe(self, tx: ServerTransaction) -> None:
        """A SUBSCRIBE (new, refresh or end) from a phone."""
        request = tx.request
        event = (request.headers.get("event") or "").split(";", 1)[0].strip().lower()
        if event != EVENT:
            tx.reply(489, "Bad Event", headers=[("allow-events", EVENT)])
            return
        asked = request.int_header("expires")
        expires = (
            self.settings.default_expires if asked is None else max(0, min(asked, self.settings.max_expires))
        )
        if 0 < expires < self.settings.min_expires:
            tx.reply(423, headers=[("min-expires", str(self.settings.min_expires))])
            return
        to_tag = request.to_tag
        if to_tag is not None:
            key = (request.call_id, to_tag)
            subscription = self.subscriptions.get(key)
            if subscription is None or not subscription.dialog.accepts(request):
                tx.reply(481)
                return
        else:
            account = await self.registrar.authenticate(tx, proxy=False)
            if account is None:
                return
            if account.user_id is None or not await self.store.boxes_watched_by(account.user_id):
                tx.reply(404, "No Voicemail Box")
                return
            to_tag = new_tag()
            key = (request.call_id, to_tag)
            transport = tx.transport.name
            dialog = Dialog.as_uas(request, to_tag, tx.source, self.host.via(transport))
            uri = f"sip:{request.uri.user or account.username}@{self.domain}"
            subscription = Subscription(dialog, transport, account.user_id, uri)
            self.subscriptions[key] = subscription
        tx.reply(
            200, to_tag=to_tag, headers=[("expires", str(expires)), ("contact", self._contact(subscription))]
        )
        if subscription.expiry is not None:
            subscription.expiry.cancel()
        if expires == 0:
            self._end(key, "terminated;reason=timeout")
            return
        subscription.expiry = self.host.scheduler.call_later(
            expires, self._end, key, "terminated;reason=timeout"
        )
        self._spawn(self._notify(subscription, f"active;expires={expires}"))

    def _contact(self, subscription: Subscription) -> str:
        return self.host.contact(subscription.transport)

    def _end(self, key: tuple[str, str], state: str) -> None:
        subscription = self.subscriptions.pop(key, None)
        if subscription is not None:
            if subscription.expiry is not None:
                subscription.expiry.cancel()
            self._spawn(self._notify(subscription, state))

    def _changed(self, box_id: str, watchers: tuple[str, ...]) -> None:
        """A box's messages changed: NOTIFY the subscriptions of its watchers."""
        for subscription in list(self.subscriptions.values()):
            if subscription.user_id in watchers:
                self._spawn(self._notify(subscription, "active"))

    async def _notify(self, subscription: Subscription, state: str) -> None:
        new = old = 0
        for box in await self.store.boxes_watched_by(subscription.user_id):
            box_new, box_old = await self.store.counts(box.box_id)
            new, old = new + box_new, old + box_old
        request = subscription.dialog.create_request(
            "NOTIFY",
            transport=subscription.transport,
            body=summary(new, old, subscription.account_uri),
            content_type=CONTENT_TYPE,
            extra=[("event", EVENT), ("subscription-state", state)],
        )
        request.headers.add("contact", self._contact(subscription))
        self.host.send_request(request, subscription.dialog.destination(), self._notified(subscription))

    def _notified(self, subscription: Subscription) -> ResponseHandler:
        def handle(response: SipResponse | None) -> None:
            if response is None or response.status in (481, 404, 489):  # the phone forgot it: over
                for key, known in list(self.subscriptions.items()):
                    if known is subscription:
                        self.subscriptions.pop(key, None)
                        if known.expiry is not None:
                            known.expiry.cancel()

        return handle

    def _spawn(self, work: object) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("message waiting: NOTIFY failed", exc_info=task.exception())
