"""Portal pages of the operator's billing runs (BIL-2, BIL-3, BIL-9): start one, follow it live.

``POST /billing/runs`` starts the API's use case (``monthly_run.run_billing``, the same as ``POST
/billing/runs``) on a thread of its own, so the page answers at once; ``/billing/runs/{id}`` shows
how many contracting parties it has billed so far, followed live until the run ends (``/billing/
runs/{id}/events``, server-sent events; without script the page reloads itself every two
seconds), then what it issued, what it refused (BIL-4) and why.
``/billing/runs`` lists the runs started from this process, newest first, and the form.

One run at a time: a second one is refused while the first runs (the run also takes the
database's billing lock). Anyone but the operator's staff gets the 404 page (TEN-4).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime
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
from nuage.shared.month import Month
from nuage.web.portal.base import Portal, Refusal, Viewer, form_text, read_form, refusal
from nuage.web.portal.live import Frame, fragment, stream

#: the runs a page lists (older ones are forgotten by the portal; their invoices stay)
KEPT = 20
REFRESH_S = 2
LIVE_TICK_S = 0.5


@dataclass
class RunJob:
    """One billing run started from the portal and how far it went."""

    id: str
    period: str
    dry_run: bool
    started_at: datetime
    started_by: str
    done: int = 0
    total: int = 0
    finished_at: datetime | None = None
    report: RunReport | None = None
    refused: Refusal | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def running(self) -> bool:
        """Whether the run has not ended yet."""
        return self.finished_at is None


class RunJobs:
    """The runs of this process: each on a thread of its own, one at a time."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.jobs: dict[str, RunJob] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def listed(self) -> list[RunJob]:
        """The runs, newest first."""
        with self._lock:
            return sorted(self.jobs.values(), key=lambda j: j.started_at, reverse=True)

    def find(self, job_id: str) -> RunJob:
        """A run by its id, else NotFound."""
        with self._lock:
            found = self.jobs.get(job_id)
        if found is None:
            raise NotFound("billing run", job_id)
        return found

    def start(self, ctx: Context, body: RunBody, started_by: str) -> RunJob | None:
        """Start a run; None while another runs."""
        with self._lock:
            if any(job.running for job in self.jobs.values()):
                return None
            job = RunJob(f"run-{next(self._ids)}", body.period, body.dry_run, ctx.clock.now(), started_by)
            self.jobs[job.id] = job
            for old in sorted(self.jobs.values(), key=lambda j: j.started_at)[:-KEPT]:
                if not old.running:
                    del self.jobs[old.id]
        threading.Thread(
            target=self._run, args=(job, ctx, body), name=f"portal-{job.id}", daemon=True
        ).start()
        return job

    def _run(self, job: RunJob, ctx: Context, body: RunBody) -> None:
        platform = self.portal.runtime.platform

        def progress(done: int, total: int) -> None:
            with job.lock:
                job.done, job.total = done, total

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
        with job.lock:
            job.report, job.refused, job.finished_at = report, refused, ctx.clock.now()


def router(portal: Portal) -> APIRouter:
    """The routes of this module over ``portal``."""
    routes = APIRouter()
    jobs = RunJobs(portal)

    def operator(viewer: Viewer) -> None:
        if not viewer.ctx.scope.is_operator:
            raise NotFound("page", "billing runs")
        viewer.require("billing.runs.create")

    def runs_page(request: Request, viewer: Viewer, status: int = 200, **more: Any) -> Response:
        return portal.render(
            request,
            "billing_runs.html",
            session=viewer.session,
            viewer=viewer,
            status=status,
            jobs=jobs.listed(),
            **more,
        )

    @routes.get("/billing/runs", include_in_schema=False)
    def runs(request: Request) -> Response:
        def work(viewer: Viewer, uow: ApiUnitOfWork) -> Response:
            operator(viewer)
            return runs_page(request, viewer)

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
                return runs_page(request, viewer, 422, refused=refusal(error), values=sent)
            job = jobs.start(viewer.ctx, body, viewer.user.name)
            if job is None:
                return runs_page(request, viewer, 409, problem="running", values=sent)
            return portal.redirect(request, f"/billing/runs/{job.id}")

        return await run_in_threadpool(portal.serve, request, work, form)

    def state(viewer: Viewer, uow: ApiUnitOfWork, job_id: str) -> dict[str, Any]:
        operator(viewer)
        job = jobs.find(job_id[:20])
        with job.lock:
            shown = RunJob(**{k: getattr(job, k) for k in job.__dataclass_fields__ if k != "lock"})
        names = {}
        if shown.report is not None:
            wanted = {r for r in shown.report.refused} | set(shown.report.suspended_customers)
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
