"""The support store on SQL: one repository per kind of support record (``services.support.ports``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table

from nuage.directory.porting import PortRequest
from nuage.resale.ucaas import Activation
from nuage.services.support.ports import (
    AttachmentBytes,
    HardwareItem,
    HardwareReturn,
    InterventionRecord,
    PhoneCredential,
    SupportCharge,
    SupportMail,
    Ticket,
    TicketAttachment,
    TicketEvent,
    UpstreamOrder,
)
from nuage.storage.sql import support_tables as st
from nuage.storage.sql.mapping import RowMapper
from nuage.storage.sql.repositories import SqlRepository


def _materials_to_row(materials: tuple[tuple[str, Decimal], ...]) -> list[list[str]]:
    return [[name, str(price)] for name, price in materials]


def _materials_from_row(rows: list[list[str]]) -> tuple[tuple[str, Decimal], ...]:
    return tuple((name, Decimal(price)) for name, price in rows)


def _repo(
    connection: Connection, cls: type[Any], table: Table, kind: str, key: str = "id", **codecs: Any
) -> Any:
    return SqlRepository(connection, RowMapper(cls, table, codecs), kind, key)


class SqlSupportStore:
    """Support records in one unit of work's transaction."""

    def __init__(self, connection: Connection) -> None:
        self.tickets: SqlRepository[Ticket] = _repo(connection, Ticket, st.support_tickets, "ticket")
        self.ticket_events: SqlRepository[TicketEvent] = _repo(
            connection, TicketEvent, st.support_ticket_events, "ticket event"
        )
        self.interventions: SqlRepository[InterventionRecord] = _repo(
            connection,
            InterventionRecord,
            st.support_interventions,
            "intervention",
            materials=(_materials_to_row, _materials_from_row),
        )
        self.hardware: SqlRepository[HardwareItem] = _repo(
            connection, HardwareItem, st.hardware_items, "hardware item"
        )
        self.returns: SqlRepository[HardwareReturn] = _repo(
            connection, HardwareReturn, st.hardware_returns, "return"
        )
        self.ports: SqlRepository[PortRequest] = _repo(
            connection, PortRequest, st.port_requests, "port request"
        )
        self.activations: SqlRepository[Activation] = _repo(
            connection, Activation, st.ucaas_activations, "UCaaS activation"
        )
        self.charges: SqlRepository[SupportCharge] = _repo(
            connection, SupportCharge, st.support_charges, "support charge", "key"
        )
        self.attachments: SqlRepository[TicketAttachment] = _repo(
            connection, TicketAttachment, st.support_attachments, "attachment"
        )
        self.attachment_bytes: SqlRepository[AttachmentBytes] = _repo(
            connection, AttachmentBytes, st.support_attachment_bytes, "attachment", "attachment_id"
        )
        self.mails: SqlRepository[SupportMail] = _repo(
            connection, SupportMail, st.support_mails, "support mail"
        )
        self.phone_credentials: SqlRepository[PhoneCredential] = _repo(
            connection, PhoneCredential, st.phone_credentials, "phone credential", "device_id"
        )
        self.upstream_orders: SqlRepository[UpstreamOrder] = _repo(
            connection, UpstreamOrder, st.ucaas_upstream_orders, "upstream order", "activation_id"
        )
