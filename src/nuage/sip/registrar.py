"""Registrar (RFC 3261 §10) with digest authentication — SIP-1, SIP-5.

Bindings are kept per device in memory (the B2BUA reads them on every call) and written
through the BindingStore port, so a restart reloads them. Unknown users and wrong passwords
get the very same 403, so the answers do not reveal which usernames exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from nuage.shared.clock import Clock
from nuage.sip.digest import DigestAuthenticator, Verdict
from nuage.sip.identifiers import new_tag
from nuage.sip.message import NameAddr, SipParseError, response_bytes
from nuage.sip.message.headers import parse_number
from nuage.sip.message.message import MAX_EXPIRES
from nuage.sip.ports import Binding, BindingStore, CredentialStore, SipAccount
from nuage.sip.transactions import ServerTransaction

log = logging.getLogger("nuage.sip.registrar")


@dataclass(frozen=True, slots=True)
class RegistrarSettings:
    """Expiry bounds in seconds (§10.3 steps 7-8)."""

    default_expires_s: int = 3600
    min_expires_s: int = 60
    max_expires_s: int = 7200
    max_contacts_per_device: int = 10


class Registrar:
    """Handles REGISTER; answers which contacts a device has now."""

    def __init__(
        self,
        credentials: CredentialStore,
        store: BindingStore,
        authenticator: DigestAuthenticator,
        clock: Clock,
        settings: RegistrarSettings | None = None,
        *,
        on_auth_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._credentials = credentials
        self._store = store
        self._auth = authenticator
        self._clock = clock
        self.settings = settings or RegistrarSettings()
        self._bindings: dict[str, dict[str, Binding]] = {}
        self._on_auth_failure = on_auth_failure  # source host of a failed digest check (SIP-5)

    async def load(self) -> int:
        """Load the stored bindings that have not expired; return how many."""
        now = self._clock.now()
        count = 0
        for binding in await self._store.load_all():
            if binding.expires_at > now:
                self._bindings.setdefault(binding.device_id, {})[binding.contact] = binding
                count += 1
            else:
                await self._store.delete(binding.device_id, binding.contact)
        return count

    def contacts(self, device_id: str) -> list[Binding]:
        """Live bindings of a device, best q first."""
        return self._live(device_id, self._clock.now())

    def _live(self, device_id: str, now: datetime) -> list[Binding]:
        device = self._bindings.get(device_id)
        if not device:
            return []
        live = [b for b in device.values() if b.expires_at > now]
        if len(live) > 1:
            live.sort(key=_best_q_first)
        return live

    async def find_account(self, username: str) -> SipAccount | None:
        """The device whose digest username is ``username`` (a transfer asks who a bound phone is)."""
        return await self._credentials.find_account(username)

    def registrations(self) -> list[Binding]:
        """Every live binding (introspection)."""
        now = self._clock.now()
        return [b for device in self._bindings.values() for b in device.values() if b.expires_at > now]

    async def purge_expired(self) -> int:
        """Forget expired bindings, in memory and in the store; return how many."""
        now = self._clock.now()
        expired = [b for device in self._bindings.values() for b in device.values() if b.expires_at <= now]
        for binding in expired:
            await self._remove(binding)
        return len(expired)

    async def authenticate(self, tx: ServerTransaction, *, proxy: bool) -> SipAccount | None:
        """Digest-check a request; answer the challenge or refusal and return None if not OK.

        ``proxy``: INVITE and other requests to the B2BUA use 407/Proxy-Authenticate (§22.3);
        REGISTER uses 401/WWW-Authenticate.
        """
        request = tx.request
        header = "proxy-authorization" if proxy else "authorization"
        try:
            credentials = self._auth.credentials(request.headers.get_all(header))
        except SipParseError as exc:  # e.g. an unterminated quote: answered, never left pending
            tx.reply(400, f"Bad {'Proxy-' if proxy else ''}Authorization: {exc.reason}"[:100])
            return None
        if credentials is None:
            self._challenge(tx, proxy=proxy, stale=False)
            return None
        account = await self._credentials.find_account(credentials.username)
        verdict = await self._auth.check(
            credentials,
            account.password if account else None,
            request.method,
            request_uri=request.raw_uri,
            source=(tx.source.transport, tx.source.host),
        )
        if verdict is Verdict.STALE:
            self._challenge(tx, proxy=proxy, stale=True)
            return None
        if verdict is not Verdict.OK or account is None:
            log.info("authentication failed for %r from %s", credentials.username, tx.source)
            tx.reply(403)
            if self._on_auth_failure is not None:
                self._on_auth_failure(tx.source.host)
            return None
        return account

    def _challenge(self, tx: ServerTransaction, *, proxy: bool, stale: bool) -> None:
        """The 401 or 407, sent statelessly (RFC 3261 §8.2.7; issue #22): a request that proves
        nothing leaves no transaction behind; sent again, it is challenged again."""
        status, name = (407, "proxy-authenticate") if proxy else (401, "www-authenticate")
        challenges = self._auth.challenges(stale=stale, source=(tx.source.transport, tx.source.host))
        tx.reply_statelessly(status, headers=[(name, value) for value in challenges])

    def challenge_now(self, tx: ServerTransaction, *, proxy: bool = False) -> bool:
        """Answer at once a request that carries no credentials at all (a phone's first try):
        the same challenge ``authenticate`` would send, without a task; False: it must run."""
        if ("proxy-authorization" if proxy else "authorization") in tx.request.headers:
            return False
        self._challenge(tx, proxy=proxy, stale=False)
        return True

    async def handle(self, tx: ServerTransaction) -> None:
        """§10.3: authenticate, then add, refresh, remove or list bindings; a malformed header
        read on the way is answered 400 (every REGISTER gets an answer)."""
        try:
            await self._handle(tx)
        except SipParseError as exc:
            tx.reply(400, exc.reason[:100])

    async def _handle(self, tx: ServerTransaction) -> None:
        account = await self.authenticate(tx, proxy=False)
        if account is None:
            return
        request = tx.request
        to_user = request.to_addr.uri.user
        if to_user is not None and to_user != account.username:
            tx.reply(403, "Not Your Address Of Record")
            return
        try:
            contacts = request.contacts
        except SipParseError as exc:
            tx.reply(400, exc.reason)
            return
        header_expires = request.int_header("expires")
        now = self._clock.now()
        device = self._bindings.setdefault(account.device_id, {})
        if any(c.wildcard for c in contacts):
            if len(contacts) != 1 or header_expires != 0:
                tx.reply(400, "Wildcard Contact Needs Expires 0")
                return
            for binding in list(device.values()):
                if request.call_id == binding.call_id and request.cseq.number <= binding.cseq:
                    tx.reply(500, "Out Of Order")
                    return
            for binding in list(device.values()):
                await self._remove(binding)
            tx.reply(200)
            return
        settings = self.settings
        asked = [_expires_of(contact, header_expires, settings.default_expires_s) for contact in contacts]
        for expires in asked:
            if 0 < expires < settings.min_expires_s:
                tx.reply(423, headers=[("min-expires", str(settings.min_expires_s))])
                return
        user_agent = request.headers.get("user-agent") or ""
        source = tx.source
        for contact, expires in zip(contacts, asked, strict=True):
            key = str(contact.uri)
            expires = min(expires, settings.max_expires_s)
            existing = device.get(key)
            if (
                existing is not None
                and existing.call_id == request.call_id
                and request.cseq.number <= existing.cseq
            ):
                tx.reply(500, "Out Of Order")
                return
            if expires == 0:
                if existing is not None:
                    await self._remove(existing)
                continue
            if existing is None and len(device) >= settings.max_contacts_per_device:
                oldest = min(device.values(), key=lambda b: b.registered_at)
                await self._remove(oldest)
            q_text = contact.param("q")
            binding = Binding(
                device_id=account.device_id,
                username=account.username,
                contact=key,
                expires_at=now + timedelta(seconds=expires),
                call_id=request.call_id,
                cseq=request.cseq.number,
                source_transport=source.transport,
                source_host=source.host,
                source_port=source.port,
                registered_at=existing.registered_at if existing else now,
                user_agent=user_agent,
                q=_float_or_none(q_text),
            )
            device[key] = binding
            await self._store.upsert(binding)
            log.debug("registered %s at %s (%ss)", account.username, key, expires)
        listed = [
            (
                "contact",
                f"<{binding.contact}>;expires={max(0, int((binding.expires_at - now).total_seconds()))}",
            )
            for binding in self._live(account.device_id, now)
        ]
        listed.append(("date", _http_date(now)))
        tx.respond_bytes(200, response_bytes(request, 200, to_tag=new_tag(), headers=listed))

    async def _remove(self, binding: Binding) -> None:
        device = self._bindings.get(binding.device_id)
        if device is not None:
            device.pop(binding.contact, None)
            if not device:
                del self._bindings[binding.device_id]
        await self._store.delete(binding.device_id, binding.contact)


def _best_q_first(binding: Binding) -> float:
    return -(binding.q if binding.q is not None else 1.0)


def _expires_of(contact: NameAddr, header_expires: int | None, default: int) -> int:
    value = contact.param("expires")
    if value is not None:
        return parse_number(value, "Contact expires", MAX_EXPIRES)
    return header_expires if header_expires is not None else default


def _float_or_none(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


_last_date: tuple[int, str] = (0, "")


def _http_date(at: datetime) -> str:
    """The Date header of ``at`` (formatted once per second: every 200 carries one)."""
    global _last_date
    second = int(at.timestamp())
    if _last_date[0] != second:
        _last_date = (second, at.strftime("%a, %d %b %Y %H:%M:%S GMT"))
    return _last_date[1]
