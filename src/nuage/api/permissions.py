"""Who may do what: permissions ``area.resource[.{id}].action`` granted by role and kind of account.

* operator staff (administrators of the operator): everything;
* partner administrators: everything inside their tenancy (TEN-4) except operator-only permissions;
* customer administrators: their own account, except what partners and the operator do;
* supervisors (any account): every ``.read`` permission their administrators have (reporting);
* users: themselves only (``directory.users.{id}.read`` / ``.update`` for their own id, their own
  calls, and, for the portal's self-care pages, their own devices and voicemail: ``SELF_CARE``).

A tenant the caller may not see is answered 404 before any permission is looked at (TEN-4); 403
means the object is visible but the role lacks the permission.
"""

from __future__ import annotations

from nuage.api.tokens import Claims

OPERATOR_ONLY = frozenset(
    {
        "tenancy.partners.create",
        "tenancy.partners.update-status",
        "tenancy.customers.update-status",
        "tenancy.customers.move",
        "directory.carrier-trunks.read",
        "directory.carrier-trunks.create",
        "directory.carrier-trunks.update",
        "directory.carrier-trunks.delete",
        "directory.web-channels.create",
        "directory.web-channels.update",
        "directory.meeting-gateway.read",
        "access.api-clients.update-status",
        "access.api-limits.update",
        "access.api-usage.read",
        "billing.contracts.update",
        "billing.tariffs.read",
        "billing.tariffs.create",
        "billing.plans.read",
        "billing.plans.create",
        "billing.plans.assign",
        "billing.regularisations.create",
        "support.queue.read",
        "support.interventions.create",
        "support.hardware.create",
        "support.returns.update",
        "resale.ucaas.confirm",
        "billing.ucaas.bill",
    }
)

#: SUP-1: every person of an account, users included, opens tickets and follows them
EVERY_ROLE = frozenset({"support.tickets.read", "support.tickets.create", "support.tickets.update"})

PARTNER_ONLY = frozenset(
    {
        "tenancy.partners.read",
        "tenancy.partners.update",
        "tenancy.customers.create",
        "tenancy.orders.create",
        "directory.meeting-rooms.create",  # BIL-6: ordering a room places an order (TEN-3)
    }
)


def granted(claims: Claims, permission: str) -> bool:
    """Whether the caller's role on its kind of account carries ``permission``."""
    reading = permission.endswith(".read")
    if permission in EVERY_ROLE:
        return True
    if claims.role == "user":
        return False
    if claims.role == "supervisor" and not reading:
        return False
    if claims.account_kind == "operator":
        return True
    if permission in OPERATOR_ONLY:
        return False
    if claims.account_kind == "partner":
        return True
    return permission not in PARTNER_ONLY


#: what a user may do on what is its own (``self_id``: the user the object belongs to)
SELF_CARE = frozenset(
    {
        "directory.users.read",
        "directory.users.update",
        "billing.call-records.read",  # a user's own calls
        "directory.devices.read",  # its own devices, and a new SIP password for one (SIP-5)
        "directory.devices.update",
        "directory.voicemail-boxes.read",  # its own box, or a shared box it is a member of
        "directory.voicemail-boxes.update",
        "directory.voicemail-messages.read",
        "directory.voicemail-messages.update",
        "directory.voicemail-messages.delete",
    }
)


def self_granted(claims: Claims, permission: str, user_id: str) -> bool:
    """Users act on themselves: ``directory.users.{id}.read`` and ``.update`` for their own id,
    and the other ``SELF_CARE`` permissions on what belongs to them."""
    return claims.kind == "user" and claims.subject == user_id and permission in SELF_CARE
