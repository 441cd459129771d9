"""Tenancy rules: who contracts (TEN-5), what a party may see (TEN-4), moves (PAY-4)."""

from __future__ import annotations

from dataclasses import dataclass

from nuage.errors import InvalidInput, NotFound, TermViolation
from nuage.tenancy.model import Party, PartyKind


def contracting_party_id(customer: Party) -> str:
    """TEN-5: a partner is invoiced for its indirect customers; a direct customer for itself."""
    if customer.kind is not PartyKind.CUSTOMER:
        raise InvalidInput("customer_id", f"{customer.id} is not a final customer")
    return customer.partner_id or customer.id


def check_move_target(customer: Party, new_partner: Party | None) -> None:
    """PAY-4: a final customer may move to another partner or to direct, nothing else."""
    if customer.kind is not PartyKind.CUSTOMER:
        raise TermViolation("PAY-4", "Only final customers can be moved", party_id=customer.id)
    if new_partner is not None and new_partner.kind is not PartyKind.PARTNER:
        raise TermViolation("PAY-4", "A customer can move only to a partner or to direct")
    if new_partner is not None and new_partner.id == customer.partner_id:
        raise InvalidInput("partner_id", "The customer is already served by this partner")


@dataclass(frozen=True)
class TenantScope:
    """TEN-4: the parties a caller may see. ``None`` means every party (the operator's staff)."""

    viewer_id: str
    visible_ids: frozenset[str] | None

    @property
    def is_operator(self) -> bool:
        """True for the operator's staff, who see every tenant."""
        return self.visible_ids is None

    def can_see(self, party_id: str) -> bool:
        """TEN-4: whether ``party_id`` is inside the scope."""
        return self.visible_ids is None or party_id in self.visible_ids

    def require(self, party_id: str, kind: str = "party") -> None:
        """TEN-4: raise NotFound (not 'forbidden'), so another tenant's ids reveal nothing."""
        if not self.can_see(party_id):
            raise NotFound(kind, party_id)


def scope_for(viewer: Party, customers_of_viewer: frozenset[str] = frozenset()) -> TenantScope:
    """TEN-4: the operator sees all; a partner itself and its customers; a customer itself."""
    if viewer.kind is PartyKind.OPERATOR:
        return TenantScope(viewer.id, None)
    if viewer.kind is PartyKind.PARTNER:
        return TenantScope(viewer.id, frozenset({viewer.id}) | customers_of_viewer)
    return TenantScope(viewer.id, frozenset({viewer.id}))
