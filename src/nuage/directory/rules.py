"""Write-time rules of the directory (CFG-2, CFG-5, CFG-6, CFG-7, CFG-9, CFG-12, CFG-13)."""

from __future__ import annotations

import secrets
import string

from nuage.directory.model import Device, LinePurpose, Role, User
from nuage.errors import InvalidInput, TermViolation


def refuse_alarm_and_lift_lines(purpose: LinePurpose, what: str) -> None:
    """CFG-5: the platform will not accept a device or trunk for an alarm system or a lift."""
    if purpose in (LinePurpose.ALARM, LinePurpose.LIFT):
        raise TermViolation(
            "CFG-5",
            f"A {what} for a{'n' if purpose is LinePurpose.ALARM else ''} {purpose.value} line is refused: "
            "alarm and lift emergency lines need an analogue line",
            purpose=purpose.value,
        )


def check_device_owner(device: Device, owner: User | None) -> None:
    """CFG-2, CFG-13: a no-service user cannot own a device; a hot-desk phone belongs to nobody."""
    if owner is None:
        return
    if owner.account_id != device.account_id:
        raise InvalidInput("user_id", "The user belongs to another account")
    if owner.no_service:
        raise TermViolation(
            "CFG-2", f"{owner.name} is a no-service user and cannot own a device", user_id=owner.id
        )
    if device.hot_desk:
        raise InvalidInput("user_id", "A hot-desk phone is shared: it is linked to no user (CFG-13)")


def check_no_service_change(user: User, owned_devices: int) -> None:
    """CFG-2: switching a user to no-service requires that the user owns no device."""
    if user.no_service and owned_devices:
        raise TermViolation(
            "CFG-2",
            f"{user.name} still owns {owned_devices} device(s); a no-service user may own none",
            user_id=user.id,
        )


def check_recording_acknowledgment(enabled: bool, acknowledged_by: User | None, acknowledged: bool) -> None:
    """CFG-9: only an administrator who acknowledges the legal duties switches recording on."""
    if not enabled:
        return
    if acknowledged_by is None or acknowledged_by.role is not Role.ADMINISTRATOR:
        raise TermViolation("CFG-9", "Call recording is switched on by an administrator of the account")
    if not acknowledged:
        raise TermViolation("CFG-9", "The administrator must acknowledge the legal duties of call recording")


def check_copyright_acknowledgment(acknowledged: bool) -> None:
    """CFG-12: the uploader of a sound file acknowledges copyright responsibility."""
    if not acknowledged:
        raise TermViolation(
            "CFG-12", "Uploading a sound file requires acknowledging copyright responsibility"
        )


def check_positive(field: str, value: int, *, allow_zero: bool = False) -> None:
    """A count that must be at least one (or zero when allowed)."""
    if value < (0 if allow_zero else 1):
        raise InvalidInput(field, f"{field} must be {'zero or more' if allow_zero else 'at least 1'}")


_SIP_ALPHABET = string.ascii_letters + string.digits


def generate_sip_password(length: int = 24) -> str:
    """SIP-5: a strong generated SIP password (~143 bits for 24 characters)."""
    return "".join(secrets.choice(_SIP_ALPHABET) for _ in range(length))


def check_sip_password(password: str) -> None:
    """SIP-5: a chosen SIP password must be long and mixed enough to resist guessing."""
    classes = sum(
        any(c in group for c in password)
        for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation)
    )
    if len(password) < 12 or classes < 3:
        raise TermViolation(
            "SIP-5",
            "SIP passwords need at least 12 characters of three kinds (lower, upper, digits, symbols)",
        )


def check_hot_desk_pin(pin: str, extension: str | None) -> None:
    """CFG-13: a hot-desk PIN is 4 to 8 digits that are not guessed at once.

    Refused: one digit repeated (0000), a run with a constant step (1234, 4321, 2468, 9753) and the
    user's own extension, since a shared phone's next user knows all of those.
    """
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise InvalidInput("pin", "A hot-desk PIN is 4 to 8 digits (CFG-13)")
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)}
    if len(steps) == 1:
        kind = "one digit repeated" if steps == {0} else "a run of digits"
        raise InvalidInput("pin", f"The hot-desk PIN is too easy to guess ({kind}); choose another (CFG-13)")
    if extension is not None and pin == extension:
        raise InvalidInput("pin", "The hot-desk PIN may not be the user's own extension (CFG-13)")
