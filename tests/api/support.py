"""Helpers of the API tests: demo credentials, a client that logs in as the demo's principals."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from nuage.api.deps import ApiRuntime
from nuage.bootstrap import Platform, build_platform
from nuage.config import ApiSettings, Settings
from nuage.services.demo import load_demo
from nuage.shared.clock import FrozenClock
from nuage.tenancy.model import PartyKind

SECRETS = {
    "demo-operator": "demo-operator-secret-2026",
    "demo-bruvoice": "demo-bruvoice-secret-2026",
    "demo-dupont": "demo-dupont-secret-2026",
    "demo-peeters": "demo-peeters-secret-2026",
    "demo-lemaire": "demo-lemaire-secret-2026",
}
PASSWORDS = {
    "olivia@nuage.example": "Operator-Demo-2026",
    "pierre@bruvoice.example": "Partner-Demo-2026",
    "alice@dupont.example": "Alice-Portal-2026",
    "chloe@dupont.example": "Chloe-Portal-2026",
    "bob@dupont.example": "Bob-Portal-2026",
    "jan@peeters.example": "Jan-Portal-2026",
    "marie@meuse-connect.example": "Partner-Demo-2026",
    "marc@lemaire.example": "Marc-Portal-2026",
}


def seed_demo(platform: Platform) -> None:
    """The demo tenancy with its API logins and clients."""
    with platform.uow() as uow:
        load_demo(uow, platform.clock, uow.access)


def make_platform(folder: Path, template: Path, clock: FrozenClock, **api: Any) -> Platform:
    """A platform over a copy of the demo database."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, folder / "nuage.db")
    settings = Settings(data_dir=folder, secret_key="test-signing-key-0123456789", api=ApiSettings(**api))
    return build_platform(settings, clock=clock)


@dataclass
class Api:
    """An HTTP client on the app, with helpers to log in as the demo's clients and users."""

    http: httpx.AsyncClient
    platform: Platform
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)
    expiries: dict[str, datetime] = field(default_factory=dict)

    @property
    def runtime(self) -> ApiRuntime:
        mounted = next(r for r in self.app.routes if getattr(r, "path", "") == "/api/v1")
        found: ApiRuntime = mounted.app.app.state.api  # the gate wraps the API application
        return found

    async def token(self, who: str) -> str:
        """A bearer token for a demo client id or a demo user's e-mail (cached per test, and asked
        again once the test's clock has moved past its expiry)."""
        now = self.platform.clock.now()
        if who in self.tokens and now >= self.expiries.get(who, now):
            del self.tokens[who]
        if who not in self.tokens:
            if who in SECRETS:
                form = {"grant_type": "client_credentials", "client_id": who, "client_secret": SECRETS[who]}
            else:
                form = {"grant_type": "password", "username": who, "password": PASSWORDS[who]}
            answer = await self.http.post("/oauth/token", data=form)
            assert answer.status_code == 200, answer.text
            self.tokens[who] = answer.json()["access_token"]
            self.expiries[who] = now + timedelta(seconds=int(answer.json()["expires_in"]) - 30)
        return self.tokens[who]

    async def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(who)}"}

    async def get(self, who: str, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(path, headers={**await self.headers(who), **kw.pop("headers", {})}, **kw)

    async def post(self, who: str, path: str, **kw: Any) -> httpx.Response:
        return await self.http.post(path, headers={**await self.headers(who), **kw.pop("headers", {})}, **kw)

    async def patch(self, who: str, path: str, **kw: Any) -> httpx.Response:
        return await self.http.patch(path, headers=await self.headers(who), **kw)

    async def put(self, who: str, path: str, **kw: Any) -> httpx.Response:
        return await self.http.put(path, headers=await self.headers(who), **kw)

    async def delete(self, who: str, path: str) -> httpx.Response:
        return await self.http.delete(path, headers=await self.headers(who))

    def party_id(self, kind: PartyKind, name: str | None = None) -> str:
        with self.platform.uow() as uow:
            party = uow.parties.find_by(kind=kind.value, **({"name": name} if name else {}))
            assert party is not None
            return party.id


_OPENAPI: list[dict[str, Any]] = []


async def openapi_description(api: Api) -> dict[str, Any]:
    """``/api/v1/openapi.json`` as the demo's application serves it (asserted 200), fetched by the
    first test of this process that asks: FastAPI builds it once per application, seconds of CPU,
    and the application of every test with the default settings serves the same one."""
    if not _OPENAPI:
        answer = await api.http.get("/openapi.json")
        assert answer.status_code == 200, answer.text
        _OPENAPI.append(answer.json())
    return _OPENAPI[0]
