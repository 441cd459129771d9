"""HW-1: zero-touch provisioning of the desk phones the operator supplies.

The operator (or the account's administrator) issues a device its provisioning credential: a
random token, shown once inside the phone's provisioning URL and kept only as a hash, one per
device (never a shared secret; issuing again replaces it). A phone then fetches
``/provisioning/<token>/<file>`` where the file is its vendor's name for its MAC address; the
configuration is generated from the device and user records at that moment, so a new phone
registers and rings without anyone typing. A phone whose MAC prefix is not in the catalogue
(``provisioning.phones.OUIS``: the approved terminals) gets no credential (HW-1). A wrong token is
``ProvisioningRefused`` (401); a right token asking for another MAC, another device's or another
tenant's, is not found (404, TEN-4).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace

from nuage.errors import InvalidInput, NotFound, NuageError, TermViolation
from nuage.provisioning.phones import PhoneProfile, Vendor, config_for, normalise_mac, requested, vendor_of
from nuage.services.context import Context
from nuage.services.support.ports import PhoneCredential, SupportUnitOfWork
from nuage.shared.clock import Clock

MAX_TOKEN = 64


class ProvisioningRefused(NuageError):
    """HW-1: the provisioning URL's token is no phone's (answered 401, nothing told about devices)."""

    error_id = "unauthorized"


@dataclass(frozen=True)
class SipTarget:
    """Where the phones register: the SIP realm and the address and transport they reach."""

    realm: str
    host: str
    port: int
    transport: str = "udp"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(uow: SupportUnitOfWork, ctx: Context, device_id: str) -> tuple[PhoneCredential, str]:
    """HW-1: a new provisioning credential for a supplied desk phone; returns it and its token
    (shown once). The device needs its MAC address, from an approved vendor, and SIP credentials."""
    device = uow.devices.find(device_id)
    if device is None or not ctx.scope.can_see(device.account_id):
        raise NotFound("device", device_id)
    if not device.mac_address:
        raise InvalidInput(
            "mac_address", "Set the phone's MAC address first: it fetches its configuration by it"
        )
    mac = normalise_mac(device.mac_address)
    vendor = vendor_of(mac)
    if vendor is None:
        raise TermViolation(
            "HW-1",
            "This MAC address is not one of the approved terminals the operator supplies",
            mac=mac,
        )
    if not device.sip_username or not device.sip_password:
        raise InvalidInput("sip_username", "The device has no SIP credentials to provision")
    token = secrets.token_urlsafe(32)
    credential = PhoneCredential(
        device.id, device.account_id, _hash(token), mac, vendor.value, ctx.clock.now()
    )
    if uow.support.phone_credentials.find(device.id) is None:
        uow.support.phone_credentials.add(credential)
    else:
        uow.support.phone_credentials.update(credential)
    uow.commit()
    return credential, token


def configuration(
    uow: SupportUnitOfWork, clock: Clock, token: str, filename: str, target: SipTarget
) -> tuple[str, bytes]:
    """HW-1: what a phone fetching ``filename`` with ``token`` gets: media type and bytes."""
    if not 1 <= len(token) <= MAX_TOKEN:
        raise ProvisioningRefused("Unknown provisioning credential")
    credential = uow.support.phone_credentials.find_by(token_hash=_hash(token))
    if credential is None:
        raise ProvisioningRefused("Unknown provisioning credential")
    try:
        vendor, mac = requested(filename)
    except InvalidInput:
        raise NotFound("phone configuration", filename[:64]) from None
    device = uow.devices.find(credential.device_id)
    if (
        device is None
        or mac != credential.mac
        or vendor is not Vendor(credential.vendor)
        or device.mac_address is None
        or normalise_mac(device.mac_address) != mac
        or not device.sip_username
        or not device.sip_password
    ):
        raise NotFound("phone configuration", filename[:64])
    user = uow.users.find(device.user_id) if device.user_id else None
    account = uow.parties.get(device.account_id)
    language = (user.language if user and user.language else None) or account.language.value
    profile = PhoneProfile(
        display_name=(user.name if user else device.label)[:128],
        sip_username=device.sip_username,
        sip_password=device.sip_password,
        domain=target.realm,
        proxy_host=target.host,
        proxy_port=target.port,
        transport=target.transport,
        language=language if language in ("en", "fr", "nl") else "en",
    )
    uow.support.phone_credentials.update(replace(credential, fetched_at=clock.now()))
    uow.commit()
    return config_for(vendor, profile)
