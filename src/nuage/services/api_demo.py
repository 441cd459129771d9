"""Demo portal logins and API clients, with fixed documented credentials (stored hashed like any other).

Idempotent: a password is set only on a user who has none, a client only when its id is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from nuage.directory.model import Role
from nuage.services import access as a
from nuage.services.context import Context
from nuage.services.ports import UnitOfWork
from nuage.tenancy.model import PartyKind


@dataclass(frozen=True)
class DemoLogin:
    """A portal login of the demo (POST /api/v1/oauth/token, grant_type=password)."""

    who: str
    email: str
    password: str


@dataclass(frozen=True)
class DemoClient:
    """An API client of the demo (grant_type=client_credentials)."""

    account: str
    client_id: str
    client_secret: str


# (party kind, party name) -> staff user to create: name, e-mail, password
STAFF = (
    (PartyKind.OPERATOR, None, "Olivia Operator", "olivia@nuage.example", "Operator-Demo-2026"),
    (
        PartyKind.PARTNER,
        "Brussels Voice Partners",
        "Pierre Partner",
        "pierre@bruvoice.example",
        "Partner-Demo-2026",
    ),
    (PartyKind.PARTNER, "Meuse Connect", "Marie Meuse", "marie@meuse-connect.example", "Partner-Demo-2026"),
)

# customers' own users (created by the directory demo) who get a portal password
PORTAL_USERS = (
    ("alice@dupont.example", "Alice-Portal-2026"),  # administrator, Atelier Dupont
    ("chloe@dupont.example", "Chloe-Portal-2026"),  # supervisor (no service), Atelier Dupont
    ("bob@dupont.example", "Bob-Portal-2026"),  # user, Atelier Dupont
    ("jan@peeters.example", "Jan-Portal-2026"),  # administrator, Bakkerij Peeters
    ("marc@lemaire.example", "Marc-Portal-2026"),  # administrator, Cabinet Lemaire
)

# (party kind, party name, client_id, secret)
CLIENTS = (
    (PartyKind.OPERATOR, None, "demo-operator", "demo-operator-secret-2026"),
    (PartyKind.PARTNER, "Brussels Voice Partners", "demo-bruvoice", "demo-bruvoice-secret-2026"),
    (PartyKind.CUSTOMER, "Atelier Dupont", "demo-dupont", "demo-dupont-secret-2026"),
    (PartyKind.CUSTOMER, "Bakkerij Peeters", "demo-peeters", "demo-peeters-secret-2026"),
    (PartyKind.CUSTOMER, "Cabinet Lemaire", "demo-lemaire", "demo-lemaire-secret-2026"),
)


def load_api_demo(
    uow: UnitOfWork, store: a.AccessStore, ctx: Context
) -> tuple[int, list[DemoLogin], list[DemoClient]]:
    """API-1: staff and customer logins, one API client per demo account; (created, logins, clients)."""
    created = 0
    logins: list[DemoLogin] = []
    clients: list[DemoClient] = []
    for kind, party_name, name, email, password in STAFF:
        party = uow.parties.find_by(kind=kind.value, **({"name": party_name} if party_name else {}))
        if party is None:
            continue
        user = uow.users.find_by(email=email)
        if user is None:
            user = a.add_staff_user(uow, ctx, party.id, name, email=email)
            created += 1
        if user.password_hash is None:
            a.set_password(uow, ctx, user.id, password)
        logins.append(DemoLogin(f"{name} ({party.name})", email, password))
    for email, password in PORTAL_USERS:
        user = uow.users.find_by(email=email)
        if user is None:
            continue
        if user.password_hash is None:
            a.set_password(uow, ctx, user.id, password)
            created += 1
        logins.append(DemoLogin(f"{user.name} ({user.role.value})", email, password))
    for kind, party_name, client_id, secret in CLIENTS:
        party = uow.parties.find_by(kind=kind.value, **({"name": party_name} if party_name else {}))
        if party is None:
            continue
        if store.clients.find(client_id) is None:
            a.issue_client(
                uow,
                store,
                ctx,
                party.id,
                f"Demo client of {party.name}",
                role=Role.ADMINISTRATOR,
                client_id=client_id,
                secret=secret,
            )
            created += 1
        clients.append(DemoClient(party.name, client_id, secret))
    return created, logins, clients
