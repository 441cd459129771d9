"""Portal pages of the operator's billing runs (BIL-2, BIL-3, BIL-9): start one, follow it live.

``POST /billing/runs`` starts the API's use case (``monthly_run.run_billing``, the same as ``POST
/billing/runs``) on a thread of its own, so the page answers at once; ``/billing/runs/{id}`` shows
how many contracting parties it has billed so far, followed live until the run ends (``/billing/
runs/{id}/events``, server-sent events; without script the page reloads itself every two
seconds), then what it issued, what it refused (BIL-4) and why.
``/billing/runs`` lists the latest runs, newest first, and the form.

A run, its progress and its report are kept in storage (``uow.security.jobs``): every web process
lists and follows the same runs, and still does after a restart. A real run's progress is written
after each batch (between the run's transactions); a dry run's, which holds one transaction to
the end, is followed live by the process running it and stored with its report. A run whose
progress has not moved for :data:`STALE` (its process ended) is shown as interrupted.

One run at a time: a second one is refused while the first runs (the run also takes the
database's billing lock). Anyone but the operator's staff gets the 404 page (TEN-4).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from nuage.api.deps import ApiUnitOfWork
from nuage.api.resources.billing_runs import RunBody
from nuage.errors import NotFound, NuageError
from nuage.services.billing import monthly_run
from nuage.services.billing.monthly_run import RunReport
from nuage.services.context import Context
from nuage.services.security.ports import PortalJob
from nuage.shared.ids import new_id
from nuage.shared.month import Month
from nuage.web.portal.base import Portal, Refusal, Viewer, form_text, read_form, refusal
from nuage.web.portal.live import Frame, fragment, stream

#: the runs a page lists (older ones stay in storage, and their invoices)
KEPT = 20
KIND = "billing-run"
STALE = timedelta(minutes=30)  # a run whose progress has not moved for this long was interrupted
REFRESH_S = 2
LIVE_TICK_S = 0.5


@dataclass(frozen=True)
class RunView:
    """A stored run as its pages show it."""

    id: str
    period: str
    dry_run: bool
    started_at: datetime
    started_by: str
    done: int
    total: int
    running: bool
    interrupted: bool
    report: dict[str, Any] | None
    refused: Refusal | None


def outcome_of(report: RunReport) -> dict[str, Any]:
    """What a run's page shows of its report, as plain JSON for storage."""
    return {
        "invoices": len(report.invoices),
        "drafts": len(report.drafts),
        "already_billed": report.already_billed,
        "suspended_customers": list(report.suspended_customers)[:500],
        "refused": [
            {
                "party_id": party_id,
                "rule_ids": list(error.details.get("rule_ids") or []),
                "message": error.message,
            }
            for party_id, error in list(report.refused.items())[:500]
        ],
    }


class RunJobs:
    """The stored runs; each started here runs on a thread of its own, one at a time."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self._moving: dict[str, tuple[int, int]] = {}  # the progress of this process's dry runs
        self._lock = threading.RLock()  # start() lists the runs (each view takes it) under it

    def view(self, job: PortalJob) -> RunView:
        """A run as shown: its progress (this process's, for a dry run), whether it still runs."""
        with self._lock:
            done, total = self._moving.get(job.id, (job.done, job.total))
        moved = job.moved_at or job.started_at
        open_ = job.finished_at is None
        interrupted = open_ and job.id not in self._moving and self.portal.clock.now() - moved > STALE
        refused = Refusal(**job.refused) if job.refused else None
        if interrupted:
            refused = Refusal("The run was interrupted: its process ended. Start it again.")
        return RunView(
            job.id, job.subject, job.dry_run, job.started_at, job.started_by, done, total,
            open_ and not interrupted, interrupted, job.outcome, refused,
        )  # fmt: skip

    def listed(self, uow: ApiUnitOfWork) -> list[RunView]:
        """The latest runs, newest first."""
        found = uow.security.jobs.list(kind=KIND, order_by=("started_at", "id"), descending=True, limit=KEPT)
        return [self.view(job) for job in found]

    def find(self, uow: ApiUnitOfWork, job_id: str) -> RunView:
        """A run by its id, else NotFound."""
        found = uow.security.jobs.find(job_id)
        if found is None or found.kind != KIND:
            raise NotFound("billing run", job_id)
        return self.view(found)

    def start(self, ctx: Context, body: RunBody, started_by: str) -> RunView | None:
        """Start a run; None while another runs."""
        with self._lock, self.portal.uow() as uow:
            if any(job.running for job in self.listed(uow)):
                return None
            now = ctx.clock.now()
            job = PortalJob(
                new_id("run"), KIND, body.period, body.dry_run, now, started_by[:200], moved_at=now
            )
            uow.security.jobs.add(job)
            uow.commit()
            if body.dry_run:
                self._moving[job.id] = (0, 0)
        threading.Thread(
            target=self._run, args=(job, ctx, body), name=f"portal-{job.id}", daemon=True
        ).start()
        return self.view(job)

    def _save(self, job_id: str, **changes: Any) -> None:
        with self.portal.uow() as uow:
            job = uow.security.jobs.get(job_id)
            for name, value in changes.items():
                setattr(job, name, value)
            uow.security.jobs.update(job)
            uow.commit()

    def _run(self, job: PortalJob, ctx: Context, body: RunBody) -> None:
        platform = self.portal.runtime.platform

        def progress(done: int, total: int) -> None:
            if body.dry_run:  # its transaction is open until the end: kept here until then
                with self._lock:
                    self._moving[job.id] = (done, total)
            else:
                self._save(job.id, done=done, total=total, moved_at=ctx.clock.now())

        report, refused = None, None
        try:
            report = monthly_run.run_billing(
                platform.uow,
                ctx,
                Month.parse(body.period),
                validator=platform.einvoice_validator,
                run_on=body.run_on,
                settings=platform.payments,
                dry_run=body.dry_run,
                progress=progress,
            )
        except NuageError as error:
            refused = refusal(error)
        except Exception as error:  # the page says the run failed; the invoices it committed stay
            refused = Refusal(f"The run failed: {type(error).__name__}")
        with self._lock:
            done, total = self._moving.get(job.id, (0, 0))
        changes: dict[str, Any] = {"finished_at": ctx.clock.now(), "moved_at": ctx.clock.now()}
        if body.dry_run:
            changes |= {"done": done, "total": total}
        if report is not None:
            changes["outcome"] = outcome_of(report)
        if refused is not None:
            changes["refused"] = {
                "message": refused.message,
                "field": refused.field,
                "rule_id": refused.rule_id,
            }
        try:
            self._save(job.id, **changes)
        finally:
            with self._lock:
                self._moving.pop(job.id, None)


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()
    jobs = RunJobs(portal)

    def operator(viewer: Viewer) -> None:
        if not viewer.ctx.scope.is_operator:
            raise NotFound("page", "billing runs")
        viewer.require("billing.runs.create")

    def runs_page(
        request: Request, viewer: Viewer, uow: ApiUnitOfWork, status: int = 200, **more: Any
    ) -> Response:
        return portal.render(
            request,
            "billing_runs.html",
            session=viewer.session,
            viewer=viewer,
            status=status,
            jobs=jobs.listed(uow),
            **more,
        )

    @routes.get("/billing/runs", include_in_schema=False)
    def runs(request: Request) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            operator(viewer)
            return runs_page(request, viewer, uow)

        return portal.serve(request, work)

    @routes.post("/billing/runs", include_in_schema=False)
    async def start(request: Request) -> Response:
        form = await read_form(request)

        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            operator(viewer)
            sent = {
                "period": form_text(form, "period", 7),
                "run_on": form_text(form, "run_on", 10),
                "dry_run": form.get("dry_run") == "on",
            }
            try:
                body = RunBody.model_validate({k: v for k, v in sent.items() if v is not None})
            except ValidationError as error:
                return runs_page(request, viewer, uow, 422, refused=refusal(error), values=sent)
            job = jobs.start(viewer.ctx, body, viewer.user.name)
            if job is None:
                return runs_page(request, viewer, uow, 409, problem="running", values=sent)
            return portal.redirect(request, f"/billing/runs/{job.id}")

        return await run_in_threadpool(portal.serve, request, work, form)

    def state(viewer: Viewer, uow: ApiUnitOfWork, job_id: str) -> dict[str, Any]:
        operator(viewer)
        shown = jobs.find(uow, job_id[:40])
        names = {}
        if shown.report is not None:
            wanted = {r["party_id"] for r in shown.report["refused"]} | set(
                shown.report["suspended_customers"]
            )
            names = {i: p.name for i in wanted if (p := uow.parties.find(i)) is not None}
        return {"job": shown, "names": names, "refresh": REFRESH_S if shown.running else None}

    @routes.get("/billing/runs/{job_id}", include_in_schema=False)
    def run(request: Request, job_id: str) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            values = state(viewer, uow, job_id)
            return portal.render(request, "billing_run.html", session=viewer.session, viewer=viewer, **values)

        return portal.serve(request, work)

    @routes.get("/billing/runs/{job_id}/events", include_in_schema=False)
    async def run_events(request: Request, job_id: str) -> Response:
        """The run's progress, sent again as it moves; the last event is its outcome."""

        def tick(viewer: Viewer, uow: ApiUnitOfWork) -> Frame:
            values = state(viewer, uow, job_id)
            return Frame(fragment(viewer, "billing_run_state.html", **values), not values["job"].running)

        return await stream(portal, request, tick, LIVE_TICK_S)

    return routes
