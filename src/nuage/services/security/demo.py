"""The demo's second factors: known TOTP secrets for its operator and partner administrators, so
that ``nuage demo`` can print them (add one to an authenticator app, or compute its codes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nuage.services.security import second_factor as second
from nuage.services.security.ports import SecurityUnitOfWork
from nuage.tenancy.model import PartyKind

#: e-mail address -> TOTP secret (base32); other operator or partner administrators get a fixed one too
DEMO_SECRETS = {
    "olivia@nuage.example": "NUAGEDEMOOPERATOROLIVIA234567ABC",
    "pierre@bruvoice.example": "NUAGEDEMOPARTNERPIERRE234567ABCD",
    "marie@meuse-connect.example": "NUAGEDEMOPARTNERMARIE234567ABCDE",
}
OTHER_SECRET = "NUAGEDEMOADMINISTRATOR234567ABCD"


@dataclass(frozen=True)
class DemoFactor:
    """A demo login's second factor."""

    email: str
    secret: str
    uri: str


def seed_demo_factors(uow: SecurityUnitOfWork, at: datetime) -> list[DemoFactor]:
    """Give every operator and partner administrator of the demo its known secret (idempotent: one
    that has a factor keeps it); the factors of the demo's known logins."""
    found: list[DemoFactor] = []
    for kind in (PartyKind.OPERATOR, PartyKind.PARTNER):
        for party in uow.parties.list(kind=kind.value, order_by=("name",)):
            for user in uow.users.list(account_id=party.id, order_by=("email",)):
                if not user.email or not second.required_for(user, party):
                    continue
                secret = DEMO_SECRETS.get(user.email, OTHER_SECRET)
                second.seed(uow, user.id, secret, at)
                factor = second.factor_of(uow, user.id)
                if factor is not None and factor.secret == secret:
                    uri = second.otpauth_uri(secret, user.email, "Nuage demo")
                    found.append(DemoFactor(user.email, secret, uri))
    return found
