"""``nuage calls``: list and export call records (SIP-1) as the operator.

nuage calls list --account cus_... --since 2026-01-01 --until 2026-02-01
nuage calls list --refused-by CAP-3
nuage calls export --since 2026-01-01 --until 2026-02-01 --out january.csv
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, TextIO

import typer

from nuage.cli.common import DatabaseUrl, DataDir, fail, operator_session
from nuage.services import call_records as records
from nuage.services.call_record_ports import CallRecord, CallRecordFilter
from nuage.shared.clock import BUSINESS_TZ

calls_app = typer.Typer(
    help="Call records: list them, filtered, or export them as CSV.", no_args_is_help=True
)

Account = Annotated[str | None, typer.Option("--account", help="Only this account's calls.")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Only the calls of this user's phones.")]
Number = Annotated[str | None, typer.Option(help="Calls from or to this number.")]
Since = Annotated[
    str | None,
    typer.Option(help="Started on or after: YYYY-MM-DD (midnight in Brussels) or an ISO 8601 time."),
]
Until = Annotated[str | None, typer.Option(help="Started before: YYYY-MM-DD or an ISO 8601 time.")]
DirectionOpt = Annotated[str | None, typer.Option("--direction", help="internal, outbound or inbound.")]
DispositionOpt = Annotated[
    str | None, typer.Option("--disposition", help="answered, busy, no-answer, refused, ...")
]
RefusedBy = Annotated[str | None, typer.Option("--refused-by", help="The rule ID that refused the call.")]


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), BUSINESS_TZ)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{option}: {text!r} is not a date (YYYY-MM-DD) nor an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BUSINESS_TZ)


def _filter(
    account: str | None,
    user: str | None,
    number: str | None,
    since: str | None,
    until: str | None,
    direction: str | None,
    disposition: str | None,
    refused_by: str | None,
) -> CallRecordFilter:
    return CallRecordFilter(
        account_id=account,
        user_id=user,
        number=number,
        since=_moment(since, "--since"),
        until=_moment(until, "--until"),
        direction=direction,
        disposition=disposition,
        refused_by=refused_by,
    )


def _line(record: CallRecord) -> str:
    started = record.started_at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M:%S")
    price = next((p.amount for p in record.prices if p.run == "customer-retail"), None)
    refusal = f" ({record.refusal_rule})" if record.refusal_rule else ""
    return (
        f"  {started}  {record.direction:<8}  {record.caller[:20]:>20} -> {record.callee[:20]:<20}  "
        f"{record.disposition}{refusal:<8}  {record.billable_seconds:>6} s  "
        f"{'' if price is None else f'{price} EUR':>11}  {record.account_id or '-'}"
    )


@calls_app.command("list")
def list_calls(
    account: Account = None,
    user: UserOpt = None,
    number: Number = None,
    since: Since = None,
    until: Until = None,
    direction: DirectionOpt = None,
    disposition: DispositionOpt = None,
    refused_by: RefusedBy = None,
    limit: Annotated[int, typer.Option(min=1, max=records.MAX_PAGE, help="Records per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="The cursor a previous page printed.")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """SIP-1: a page of call records, oldest first (times in Brussels, prices at retail)."""
    wanted = _filter(account, user, number, since, until, direction, disposition, refused_by)
    with operator_session(data_dir, database_url) as (platform, ctx), platform.uow() as uow:
        page = records.list_call_records(uow, ctx, wanted, after=cursor, limit=limit)
    for record in page.items:
        typer.echo(_line(record))
    typer.echo(f"{len(page.items)} call records")
    if page.next_cursor:
        typer.echo(f"more: add --cursor {page.next_cursor}")


@calls_app.command("export")
def export_calls(
    account: Account = None,
    user: UserOpt = None,
    number: Number = None,
    since: Since = None,
    until: Until = None,
    direction: DirectionOpt = None,
    disposition: DispositionOpt = None,
    refused_by: RefusedBy = None,
    out: Annotated[
        Path | None, typer.Option(help="The CSV file to write; standard output if absent.")
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """SIP-1: every matching call record as CSV (a period spans at most 366 days)."""
    wanted = _filter(account, user, number, since, until, direction, disposition, refused_by)
    if out is not None and not out.parent.is_dir():
        raise fail(f"--out: the folder {out.parent} does not exist")
    with operator_session(data_dir, database_url) as (platform, ctx):
        with platform.uow() as uow:
            query = records.export_query(uow, ctx, wanted)
            runs = records.visible_runs(query)
        target: TextIO = sys.stdout if out is None else out.open("w", encoding="utf-8", newline="")
        try:
            counted = _Counted(records.export_batches(platform.uow, query))
            target.writelines(records.csv_chunks(counted, runs))
        finally:
            if out is not None:
                target.close()
    if out is not None:
        typer.echo(f"wrote {counted.count} call records to {out}")


class _Counted:
    """The batches of an export, counting the records that went by."""

    def __init__(self, batches: Iterator[list[CallRecord]]) -> None:
        self.batches = batches
        self.count = 0

    def __iter__(self) -> Iterator[list[CallRecord]]:
        for batch in self.batches:
            self.count += len(batch)
            yield batch
