"""Telavox activations through the upstream's provisioning interface (BIL-8), on SQLite and
PostgreSQL: ordered, retried while the provider is down, active (and billable) only from the day it
confirms, never billed when refused; and the HTTP adapter speaking to the simulated provider served
over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from netports import free_port
from nuage.adapters.telavox import TelavoxHttpUpstream
from nuage.adapters.telavox_sim import SimulatedUpstream
from nuage.bootstrap import Platform
from nuage.resale.ucaas import Activation
from nuage.services.context import Context
from nuage.services.demo import load_demo
from nuage.services.support import ucaas, upstream
from nuage.services.support.ports import UpstreamState
from nuage.services.support.upstream import UpstreamStatus, UpstreamUnreachable
from nuage.shared.clock import FrozenClock, business_date
from nuage.shared.month import Month
from nuage.tenancy.model import PartyKind
from waiting import wait_for_condition


def _setup(platform: Platform) -> tuple[Context, str]:
    with platform.uow() as uow:
        demo = load_demo(uow, platform.clock)
        dupont = uow.parties.find_by(kind=PartyKind.CUSTOMER.value, name="Atelier Dupont")
    assert dupont is not None
    return Context.operator(demo.operator_id, platform.clock), dupont.id


@pytest.mark.rule("BIL-8")
async def test_an_activation_waits_for_the_upstream_survives_its_failure_and_is_billed_once_active(
    platform: Platform, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 1, 5, 9, tzinfo=UTC))
    ctx, dupont = _setup(platform)
    with platform.uow() as uow:
        licences = ucaas.activate(uow, ctx, dupont, "tvx-user", 2)
    with platform.uow() as uow:
        refused = ucaas.activate(uow, ctx, dupont, "tvx-record", 1)
    provider = SimulatedUpstream(
        today=lambda: business_date(clock.now()),
        down=True,
        pending_rounds=1,
        refused_items=frozenset({"tvx-record"}),
    )

    report = await upstream.sync(platform.uow, provider, clock)  # the provider is down
    assert sorted(report.retried) == sorted([licences.id, refused.id])
    with platform.uow() as uow:
        order = uow.support.upstream_orders.get(licences.id)
        assert (order.state, order.attempts) == (UpstreamState.WAITING, 1)
        assert order.last_error == "simulated upstream is down"
        assert uow.support.activations.get(licences.id).active_from is None
    assert (await upstream.sync(platform.uow, provider, clock)).retried == []  # not due yet: no hammering

    provider.down = False
    clock.set(datetime(2026, 1, 8, 9, tzinfo=UTC))
    report = await upstream.sync(platform.uow, provider, clock)
    assert report.refused == [refused.id]
    assert report.activated == []  # received, pending
    clock.set(datetime(2026, 1, 12, 9, tzinfo=UTC))
    report = await upstream.sync(platform.uow, provider, clock)
    assert report.activated == [licences.id]
    with platform.uow() as uow:
        assert uow.support.activations.get(licences.id).active_from == date(
            2026, 1, 12
        )  # the day it confirmed
        assert uow.support.activations.get(refused.id).active_from is None
        assert uow.support.upstream_orders.get(refused.id).state is UpstreamState.REFUSED

    clock.set(datetime(2026, 2, 2, 9, tzinfo=UTC))
    with platform.uow() as uow:
        assert ucaas.bill_month(uow, ctx, Month(2026, 1)) == 1  # the licences only; the refused never
    with platform.uow() as uow:
        keys = {c.key for c in uow.support.charges.list()}
    assert keys == {f"ucaas:{licences.id}:2026-01"}

    # a deactivation reaches the upstream too
    with platform.uow() as uow:
        ucaas.deactivate(uow, ctx, licences.id)
    await upstream.sync(platform.uow, provider, clock)
    with platform.uow() as uow:
        assert uow.support.upstream_orders.get(licences.id).state is UpstreamState.ENDED


@contextlib.asynccontextmanager
async def _served(provider: SimulatedUpstream) -> AsyncIterator[str]:
    """The simulated provider behind the HTTP contract of ``adapters.telavox``, on loopback."""

    async def orders(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != "Bearer upstream-token":
            return JSONResponse({"reason": "unauthenticated"}, status_code=401)
        oid = request.path_params["id"]
        try:
            if request.method == "DELETE":
                answer = await provider.end(Activation(oid, "", "", 1, None))
            else:
                body = await request.json()
                answer = await provider.order(
                    Activation(oid, body["customer"], body["item"], body["quantity"], None)
                )
        except UpstreamUnreachable:
            return JSONResponse({"reason": "maintenance"}, status_code=503)
        out = {"id": answer.reference, "status": answer.status.value, "reason": answer.reason}
        out["active_from"] = answer.active_on.isoformat() if answer.active_on else None
        return JSONResponse(out, status_code=200)

    app = Starlette(routes=[Route("/v1/orders/{id}", orders, methods=["PUT", "DELETE"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        await wait_for_condition(lambda: server.started, what="the simulated provider's HTTP server")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        await task


@pytest.mark.rule("BIL-8")
async def test_the_http_adapter_orders_retries_and_reads_refusals_from_a_provider_over_http() -> None:
    provider = SimulatedUpstream(today=lambda: date(2026, 3, 2), refused_items=frozenset({"tvx-record"}))
    activation = Activation("uca_http1", "cust", "tvx-user", 3, None)
    async with _served(provider) as base:
        adapter = TelavoxHttpUpstream(base, "upstream-token", timeout_s=10)
        answer = await adapter.order(activation)
        assert (answer.status, answer.active_on, answer.reference) == (
            UpstreamStatus.ACTIVE,
            date(2026, 3, 2),
            "tvx-uca_http1",
        )
        assert (await adapter.order(activation)).status is UpstreamStatus.ACTIVE  # the same order again
        refused = await adapter.order(Activation("uca_http2", "cust", "tvx-record", 1, None))
        assert (refused.status, refused.reason) == (UpstreamStatus.REFUSED, "item not available")
        wrong = await TelavoxHttpUpstream(base, "not-the-token").order(activation)
        assert (wrong.status, wrong.reason) == (UpstreamStatus.REFUSED, "unauthenticated")
        provider.down = True
        with pytest.raises(UpstreamUnreachable):
            await adapter.order(activation)
        provider.down = False
        assert (await adapter.end(activation)).status is UpstreamStatus.ENDED
    with pytest.raises(UpstreamUnreachable):  # nobody listens any more
        await TelavoxHttpUpstream(base, "upstream-token", timeout_s=2).order(activation)
