"""Demo data: an operator, two partners (one white-label), three customers, users, phones, numbers.

Idempotent: each item is looked up by its natural key (name, e-mail, SIP username, number)
and created only when missing, so running it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from nuage.directory.model import DeviceKind, Role, RoomUse, TrunkAuth
from nuage.services import hot_desk as h
from nuage.services import tenancy as t
from nuage.services.access import AccessStore
from nuage.services.api_demo import DemoClient, DemoLogin, load_api_demo
from nuage.services.billing.defaults import load_billing_defaults
from nuage.services.billing.ports import BillingUnitOfWork
from nuage.services.context import Context
from nuage.services.directory.carrier_trunks import add_carrier_trunk
from nuage.services.directory.conferences import add_conference_room
from nuage.services.directory.devices import add_device
from nuage.services.directory.numbers import add_number, add_number_block, assign_number
from nuage.services.directory.rooms import add_room
from nuage.services.directory.trunks import TrunkChanges, add_trunk, update_trunk
from nuage.services.directory.users import add_user
from nuage.services.ports import UnitOfWork
from nuage.shared.clock import Clock
from nuage.shared.phone import parse_e164
from nuage.tenancy.model import Language, OrderLine, Party, PartyKind

TERMS_VERSION = "2026-01"


@dataclass(frozen=True)
class DemoPhone:
    """A demo SIP device a person can register a softphone with."""

    customer: str
    user: str
    username: str
    password: str
    numbers: tuple[str, ...]


@dataclass
class DemoSummary:
    """What the demo holds, for printing."""

    operator_id: str = ""
    created: int = 0
    phones: list[DemoPhone] = field(default_factory=list)
    carrier: str = ""
    hot_desk: str = ""  # CFG-13: the shared phone, and the users' PINs to log in on it
    hot_desk_pins: list[tuple[str, str, str]] = field(default_factory=list)  # user, extension, PIN
    logins: list[DemoLogin] = field(default_factory=list)  # API-1: portal logins
    api_clients: list[DemoClient] = field(default_factory=list)  # API-1: developer credentials


@dataclass(frozen=True)
class _UserSpec:
    name: str
    email: str
    role: Role = Role.USER
    no_service: bool = False
    extension: str | None = None
    sip: tuple[str, str, DeviceKind] | None = None  # username, password, kind
    number: str | None = None
    hot_desk_pin: str | None = None  # CFG-13: logs in on the shared phone with *11*<extension>*<PIN>


@dataclass(frozen=True)
class _CustomerSpec:
    name: str
    partner: str | None
    language: Language
    city: str
    street: str
    postal_code: str
    vat_number: str
    block: tuple[str, int]
    users: tuple[_UserSpec, ...]


PARTNERS = (
    dict(
        name="Brussels Voice Partners",
        language=Language.FR,
        email="billing@bruvoice.example",
        vat_number="BE0456789133",
        street="Rue de la Loi 42",
        postal_code="1040",
        city="Bruxelles",
        brand_name="BruVoice",
        brand_primary_color="#0b5394",
        brand_secondary_color="#f1c232",
        brand_support_email="support@bruvoice.example",
        brand_support_phone="+3225550100",
        brand_portal_host="portal.bruvoice.example",
    ),
    dict(
        name="Meuse Connect",
        language=Language.FR,
        email="admin@meuse-connect.example",
        vat_number="BE0567891250",
        street="Rue de Fer 12",
        postal_code="5000",
        city="Namur",
    ),
)

DEMO_PBX = "127.0.0.1:5080"

CUSTOMERS = (
    _CustomerSpec(
        name="Atelier Dupont",
        partner=None,
        language=Language.FR,
        city="Bruxelles",
        street="Rue Haute 120",
        postal_code="1000",
        vat_number="BE0123456749",
        block=("+3223000100", 100),
        users=(
            _UserSpec(
                "Alice Dupont",
                "alice@dupont.example",
                Role.ADMINISTRATOR,
                extension="211",
                sip=("alice", "Alice-Demo-2026", DeviceKind.SOFTPHONE_PC),
                number="+3223000100",
                hot_desk_pin="5829",
            ),
            _UserSpec(
                "Bob Martin",
                "bob@dupont.example",
                extension="212",
                sip=("bob", "Bob-Demo-2026!", DeviceKind.DESK_PHONE),
                number="+3223000101",
                hot_desk_pin="7314",
            ),
            _UserSpec("Chloé Lambert", "chloe@dupont.example", Role.SUPERVISOR, no_service=True),
        ),
    ),
    _CustomerSpec(
        name="Bakkerij Peeters",
        partner="Brussels Voice Partners",
        language=Language.NL,
        city="Gent",
        street="Veldstraat 8",
        postal_code="9000",
        vat_number="BE0234567873",
        block=("+3293000200", 50),
        users=(
            _UserSpec(
                "Jan Peeters",
                "jan@peeters.example",
                Role.ADMINISTRATOR,
                extension="221",
                sip=("jan", "Jan-Demo-2026!", DeviceKind.DESK_PHONE),
                number="+3293000200",
            ),
            _UserSpec(
                "Els Wouters",
                "els@peeters.example",
                extension="222",
                sip=("els", "Els-Demo-2026!", DeviceKind.SOFTPHONE_MOBILE),
                number="+3293000201",
            ),
        ),
    ),
    _CustomerSpec(
        name="Cabinet Lemaire",
        partner="Meuse Connect",
        language=Language.FR,
        city="Namur",
        street="Place d'Armes 3",
        postal_code="5000",
        vat_number="BE0345678997",
        block=("+3281000300", 20),
        users=(
            _UserSpec(
                "Marc Lemaire",
                "marc@lemaire.example",
                Role.ADMINISTRATOR,
                extension="231",
                sip=("marc", "Marc-Demo-2026!", DeviceKind.DESK_PHONE),
                number="+3281000300",
            ),
        ),
    ),
)

# SIP-5: the carrier is trusted at its address and port exactly; on an address of its own, the demo's
# phones (SIPp and softphones on 127.0.0.1) are never mistaken for it
CARRIER = ("Demo carrier (SIPp on loopback)", "127.0.0.2", 5090)
_FORMER_CARRIER = ("127.0.0.1", 5090)  # where demos loaded before had it: moved on the next load


def _party(uow: UnitOfWork, kind: PartyKind, name: str) -> Party | None:
    return uow.parties.find_by(kind=kind.value, name=name)


def load_demo(uow: BillingUnitOfWork, clock: Clock, access: AccessStore | None = None) -> DemoSummary:
    """Create whatever part of the demo is missing; commit once. With ``access``, also the API demo."""
    summary = DemoSummary()
    operator = _party(uow, PartyKind.OPERATOR, "Nuage Telecom")
    if operator is None:
        existing = uow.parties.find_by(kind=PartyKind.OPERATOR.value)
        operator = existing or t.create_operator(
            uow,
            Context.operator("-", clock),
            "Nuage Telecom",
            email="ops@nuage.example",
            vat_number="BE0987654394",
            street="Avenue Louise 54",
            postal_code="1050",
            city="Bruxelles",
        )
        summary.created += existing is None
    summary.operator_id = operator.id
    ctx = Context.operator(operator.id, clock)
    partners: dict[str, Party] = {}
    for spec in PARTNERS:
        name = str(spec["name"])
        found = _party(uow, PartyKind.PARTNER, name)
        if found is None:
            fields = {k: v for k, v in spec.items() if k not in ("name", "language")}
            found = t.create_partner(uow, ctx, name, Language(spec["language"]), **fields)
            summary.created += 1
        partners[name] = found
    for customer_spec in CUSTOMERS:
        summary.created += _load_customer(uow, ctx, customer_spec, partners, summary)
    carrier_name, host, port = CARRIER
    carrier = uow.carrier_trunks.find_by(name=carrier_name)
    if carrier is None:
        add_carrier_trunk(uow, ctx, carrier_name, host, port)
        summary.created += 1
    elif (carrier.host, carrier.port) == _FORMER_CARRIER:
        uow.carrier_trunks.update(replace(carrier, host=host, port=port))
    summary.carrier = f"{host}:{port}"
    if access is not None:
        created, summary.logins, summary.api_clients = load_api_demo(uow, access, ctx)
        summary.created += created
    summary.created += load_billing_defaults(uow, clock)  # RAT-2/BIL-2: default tariffs and price plan
    uow.commit()
    return summary


def _load_customer(
    uow: UnitOfWork, ctx: Context, spec: _CustomerSpec, partners: dict[str, Party], summary: DemoSummary
) -> int:
    created = 0
    customer = _party(uow, PartyKind.CUSTOMER, spec.name)
    if customer is None:
        customer = t.create_customer(
            uow,
            ctx,
            spec.name,
            partner_id=partners[spec.partner].id if spec.partner else None,
            language=spec.language,
            email=f"admin@{spec.name.split()[-1].lower()}.example",
            vat_number=spec.vat_number,
            street=spec.street,
            postal_code=spec.postal_code,
            city=spec.city,
        )
        t.place_order(
            uow,
            ctx,
            customer.id,
            terms_version=TERMS_VERSION,
            language=spec.language,
            accepted_by=spec.users[0].name,
            service_start_on=date(2026, 1, 10),
            lines=[
                OrderLine("activation", 1, "Account activation"),
                OrderLine("hardware:desk_phone", 1, "Desk phone"),
            ],
        )
        created += 1
    account = customer.id
    first, size = spec.block
    block = uow.number_blocks.find_by(account_id=account, first_e164=parse_e164(first))
    if block is None:
        block = add_number_block(
            uow,
            ctx,
            account,
            first,
            size,
            street=spec.street,
            postal_code=spec.postal_code,
            city=spec.city,
            country="BE",
        )
        created += 1
    for user_spec in spec.users:
        user = uow.users.find_by(email=user_spec.email)
        if user is None:
            user = add_user(
                uow,
                ctx,
                account,
                user_spec.name,
                role=user_spec.role,
                no_service=user_spec.no_service,
                email=user_spec.email,
                extension=user_spec.extension,
            )
            created += 1
        numbers: tuple[str, ...] = ()
        if user_spec.number:
            number = uow.numbers.find_by(e164=parse_e164(user_spec.number))
            if number is None:
                number = add_number(
                    uow, ctx, account, user_spec.number, block_id=block.id, main=user_spec.number == first
                )
                assign_number(uow, ctx, number.id, user_id=user.id)
                created += 1
            numbers = (number.e164,)
        if user_spec.sip:
            username, password, kind = user_spec.sip
            if uow.devices.find_by(sip_username=username) is None:
                add_device(
                    uow,
                    ctx,
                    account,
                    kind,
                    f"{user_spec.name.split()[0]}'s {kind.value.replace('_', ' ')}",
                    user_id=user.id,
                    sip_username=username,
                    sip_password=password,
                )
                created += 1
            summary.phones.append(DemoPhone(spec.name, user_spec.name, username, password, numbers))
        if user_spec.hot_desk_pin:
            if user.hot_desk_pin_hash is None:
                h.set_hot_desk_pin(uow, ctx, user.id, user_spec.hot_desk_pin)
                created += 1
            summary.hot_desk_pins.append((user_spec.name, user_spec.extension or "-", user_spec.hot_desk_pin))
    if spec.name == "Atelier Dupont":
        created += _dupont_extras(uow, ctx, account)
        created += _hot_desk_phone(uow, account, summary)
    if spec.name == "Cabinet Lemaire":
        # SIP-3: the demo PBX is the one sending from 127.0.0.1:5080 (the port tells it from the
        # demo's phones, which share its address)
        trunk = uow.trunks.find_by(account_id=account)
        if trunk is None:
            add_trunk(uow, ctx, account, "Lemaire office PBX", TrunkAuth.IP, allowed_ips=DEMO_PBX)
            created += 1
        elif trunk.allowed_ips == "127.0.0.1/32":  # an earlier demo trusted every loopback port
            update_trunk(uow, ctx, trunk.id, TrunkChanges(allowed_ips=DEMO_PBX))
    return created


def _dupont_extras(uow: UnitOfWork, ctx: Context, account: str) -> int:
    """A workshop with a shared phone (a CNT-4 shortfall to see), a door phone, a meeting room."""
    if uow.rooms.find_by(account_id=account, name="Workshop") is not None:
        return 0
    workshop = add_room(uow, ctx, account, "Workshop", RoomUse.NON_USERS)
    meeting = add_room(uow, ctx, account, "Meeting room", RoomUse.USERS)
    add_device(uow, ctx, account, DeviceKind.DESK_PHONE, "Workshop 1", room_id=workshop.id)
    add_device(uow, ctx, account, DeviceKind.DESK_PHONE, "Meeting room phone", room_id=meeting.id)
    add_device(uow, ctx, account, DeviceKind.DOOR_PHONE, "Front door")
    username, password = HOT_DESK_PHONE
    add_device(
        uow,
        ctx,
        account,
        DeviceKind.DESK_PHONE,
        "Hot desk 1",
        hot_desk=True,
        sip_username=username,
        sip_password=password,
    )
    add_conference_room(uow, ctx, account, "Weekly meeting", pin="4321")
    return 6


#: CFG-13: SIP credentials of the demo's shared phone, "Hot desk 1" of Atelier Dupont
HOT_DESK_PHONE = ("hotdesk1", "Hotdesk-Demo-2026!")


def _hot_desk_phone(uow: UnitOfWork, account: str, summary: DemoSummary) -> int:
    """CFG-13: the shared phone registers with known credentials (an older demo gave it random ones)."""
    username, password = HOT_DESK_PHONE
    summary.hot_desk = "Hot desk 1"
    summary.phones.append(DemoPhone("Atelier Dupont", "Hot desk 1", username, password, ()))
    if uow.devices.find_by(sip_username=username) is not None:
        return 0
    phone = uow.devices.find_by(account_id=account, label="Hot desk 1", hot_desk=True)
    if phone is None:
        return 0
    uow.devices.update(replace(phone, sip_username=username, sip_password=password))
    return 1
