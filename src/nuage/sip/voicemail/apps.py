"""Voicemail's media applications: leaving a message (deposit) and hearing one's messages (retrieval).

Both run on ``nuage.sip.b2bua.apps``. A phone reaches them by feature code (``Voicemail.route``):
``*98<number>`` leaves a message in the account's box with that number (a user's box: the user's
extension), ``*97`` opens the caller's own box (``*97<number>`` a shared box). Call forwarding
sends a caller to a user's box with ``Voicemail.for_user(user_id, reason)``, which returns the
application to run on the unanswered call (``nuage.sip.b2bua.apps.answer_with``), or None when
the user has no box.

Deposit: the box's greeting for the reason (busy, unavailable) or its name greeting and the
standard prompt, a beep, then the caller is recorded until ``#``, hanging up or the box's longest
message; the message is stored, e-mailed and the phones' lamps lit by the store. Retrieval: the
PIN (three tries), how many new and old messages, then each message with its menu: ``1`` again,
``7`` delete, ``9`` keep, ``#`` (or nothing) next.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nuage.sip.b2bua.apps import AppCall, AppDispatch, MediaApplication
from nuage.sip.media import Tone
from nuage.sip.ports import SipAccount
from nuage.sip.voicemail.ports import Box, Message, Prompts, VoicemailStore

log = logging.getLogger("nuage.sip.voicemail")

BEEP = Tone(1000, 400, -10.0)
PIN_TRIES = 3
DIGIT_TIMEOUT_S = 6.0
MENU_TIMEOUT_S = 8.0


@dataclass(frozen=True, slots=True)
class VoicemailCodes:
    """The feature codes of voicemail (``sip.voicemail`` settings)."""

    deposit: str = "*98"
    retrieval: str = "*97"


class Voicemail:
    """Voicemail's applications over the platform's boxes and prompts."""

    def __init__(self, store: VoicemailStore, prompts: Prompts, codes: VoicemailCodes = VoicemailCodes()):
        self.store = store
        self.prompts = prompts
        self.codes = codes

    # -- how calls get here ------------------------------------------------------------------------
    async def route(self, account: SipAccount, dialled: str) -> AppDispatch | None:
        """The application a phone's feature code starts (an ``AppRouter``); None: not voicemail's."""
        codes = self.codes
        if dialled.startswith(codes.retrieval):
            number = dialled[len(codes.retrieval) :]
            if number and not number.isdigit():
                return None
            return AppDispatch(self._retrieval(account, number), codes.retrieval)
        if dialled.startswith(codes.deposit) and dialled[len(codes.deposit) :].isdigit():
            number = dialled[len(codes.deposit) :]
            box = await self.store.box_by_number(account.account_id, number)
            if box is None:
                return AppDispatch(self._no_box, codes.deposit + number)
            return AppDispatch(self.deposit(box, "direct"), codes.deposit + number)
        return None

    async def for_user(self, user_id: str, reason: str = "unavailable") -> MediaApplication | None:
        """The deposit into the user's box (``reason``: ``busy`` or ``unavailable``, which greeting
        the caller hears), for call forwarding on busy or no answer; None: the user has no box."""
        box = await self.store.box_of_user(user_id)
        return self.deposit(box, reason) if box is not None else None

    # -- deposit ---------------------------------------------------------------------------------------
    def deposit(self, box: Box, reason: str) -> MediaApplication:
        """The application that records a message into ``box``."""

        async def leave_a_message(call: AppCall) -> None:
            await self._greet(call, box, reason)
            await call.play(BEEP, interrupt=False)
            path = await self.store.recording_path(box)
            recording = await call.record(path, max_s=box.max_message_s)
            if recording is None:
                return
            caller = call.call.request.from_addr
            message_id = await self.store.deposit(box, caller.uri.user or "", caller.display or "", recording)
            log.info("voicemail: message %s left in box %s", message_id, box.box_id)
            if not call.ended and message_id is not None:
                await call.play(self.prompts.prompt(box.language, "saved"), interrupt=False)

        return leave_a_message

    async def _greet(self, call: AppCall, box: Box, reason: str) -> None:
        greeting = box.greetings.get(reason) or box.greetings.get("unavailable")
        if greeting is not None:
            await call.play(greeting)
            return
        name = box.greetings.get("name")
        if name is not None:
            await call.play(name)
        key = "busy" if reason == "busy" else "unavailable"
        await call.play(self.prompts.prompt(box.language, key))

    async def _no_box(self, call: AppCall) -> None:
        await call.play(self.prompts.prompt("en", "no_box"), interrupt=False)

    # -- retrieval -------------------------------------------------------------------------------------
    def _retrieval(self, account: SipAccount, number: str) -> MediaApplication:
        async def listen(call: AppCall) -> None:
            box = await self._box_to_open(account, number)
            if box is None:
                await self._no_box(call)
                return
            if not await self._unlock(call, box):
                await call.play(self.prompts.prompt(box.language, "goodbye"), interrupt=False)
                return
            await self._listen(call, box)

        return listen

    async def _box_to_open(self, account: SipAccount, number: str) -> Box | None:
        if number:
            return await self.store.box_by_number(account.account_id, number)
        return await self.store.box_of_user(account.user_id) if account.user_id else None

    async def _unlock(self, call: AppCall, box: Box) -> bool:
        say = self.prompts.prompt
        for _ in range(PIN_TRIES):
            await call.play(say(box.language, "pin"))
            pin = await call.collect(10, timeout_s=DIGIT_TIMEOUT_S)
            if pin and await self.store.check_pin(box, pin):
                return True
            call.flush()
            await call.play(say(box.language, "wrong_pin"), interrupt=False)
        log.info("voicemail: box %s not opened: wrong PIN %d times", box.box_id, PIN_TRIES)
        return False

    async def _listen(self, call: AppCall, box: Box) -> None:
        say, lang = self.prompts.prompt, box.language
        messages = await self.store.messages(box)
        new = sum(1 for m in messages if m.new)
        await call.play(
            say(lang, "you_have"),
            self.prompts.number(lang, new),
            say(lang, "new_messages"),
            say(lang, "and"),
            self.prompts.number(lang, len(messages) - new),
            say(lang, "old_messages"),
        )
        for message in messages:
            await self._one(call, box, message)
        await call.play(say(lang, "no_more"), interrupt=False)

    async def _one(self, call: AppCall, box: Box, message: Message) -> None:
        say, lang = self.prompts.prompt, box.language
        while True:
            call.flush()
            await call.play(message.path)
            if message.new:
                await self.store.heard(box, message.message_id)
            key = await call.play(say(lang, "menu")) or (
                await call.collect(1, timeout_s=MENU_TIMEOUT_S, end="")
            )
            call.flush()
            match key:
                case "1":
                    continue
                case "7":
                    await self.store.delete(box, message.message_id)
                    await call.play(say(lang, "deleted"), interrupt=False)
                case "9":
                    await call.play(say(lang, "kept"), interrupt=False)
            return
