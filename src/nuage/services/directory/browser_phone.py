"""The browser softphone (CFG-1, CFG-3): a user's softphone that runs in the portal, through the WebRTC
gateway's SIP plugin, registered to Nuage like any softphone and so under every call rule (CAP-3,
SIP-2, EMG-2..4, PAY-3).

``browser_softphone`` gives the user's browser device, made on first use: a ``softphone_pc`` of that
user (CFG-1: it adds no user; CFG-2: a no-service user has none), with strong generated credentials
(SIP-5). Like every softphone it is nomadic (EMG-3): ``set_browser_location`` holds where the user
says it stands.
"""

from __future__ import annotations

from nuage.directory.model import Device, DeviceKind
from nuage.errors import InvalidInput
from nuage.services.context import Context
from nuage.services.directory.devices import DeviceChanges, add_device, update_device
from nuage.services.ports import UnitOfWork
from nuage.services.queries import get_visible

BROWSER_LABEL = "Browser softphone"


def browser_softphone(uow: UnitOfWork, ctx: Context, user_id: str) -> Device:
    """CFG-1/CFG-3: the user's browser softphone, declared on first use (the caller commits)."""
    user = get_visible(uow.users, ctx, user_id)
    found = uow.devices.find_by(user_id=user.id, kind=DeviceKind.SOFTPHONE_PC.value, label=BROWSER_LABEL)
    if found is not None:
        return found
    return add_device(uow, ctx, user.account_id, DeviceKind.SOFTPHONE_PC, BROWSER_LABEL, user_id=user.id)


MAX_LOCATION = 200


def set_browser_location(uow: UnitOfWork, ctx: Context, user_id: str, location: str) -> Device:
    """EMG-3: where the user's browser softphone stands now, as the user declares it (the caller commits).

    A browser cannot be located: the portal asks the user, and the answer is held as the browser
    device's ``site``, the place the emergency readiness check compares with the block address of
    the caller ID the device presents (EMG-2), so a mismatch is flagged to the administrator.
    """
    cleaned = " ".join(location.split())
    if not 3 <= len(cleaned) <= MAX_LOCATION:
        raise InvalidInput("location", f"location must have 3 to {MAX_LOCATION} characters", rule_id="EMG-3")
    device = browser_softphone(uow, ctx, user_id)
    return update_device(uow, ctx, device.id, DeviceChanges(site=cleaned))
