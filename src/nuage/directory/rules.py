"""Write-time rules of the directory (CFG-1..13, SIP-3, SIP-5, EMG-4): pure checks, no storage.

The use cases of ``nuage.services.directory`` call them before they store a change.
"""

from __future__ import annotations

import re
import secrets
import string

from nuage.directory.model import Device, LinePurpose, NumberBlock, Role, TrunkAddress, User
from nuage.errors import InvalidInput, TermViolation
from nuage.shared.text import clean_name as clean_name  # names and labels: no control characters
from nuage.shared.text import first_control


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
    """SIP-5: a strong generated SIP password (~143 bits for 24 characters) that passes
    ``check_sip_password``: drawn again in the rare case (about 1.5 %) one lacks a kind."""
    while True:
        password = "".join(secrets.choice(_SIP_ALPHABET) for _ in range(length))
        if _sip_password_strong(password):
            return password


def _sip_password_strong(password: str) -> bool:
    """SIP-5: at least 12 characters of three kinds (lower, upper, digits, symbols)."""
    kinds = sum(
        any(c in group for c in password)
        for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation)
    )
    return len(password) >= 12 and kinds >= 3


def check_sip_password(password: str) -> None:
    """SIP-5: a chosen SIP password must be long and mixed enough to resist guessing."""
    if not _sip_password_strong(password):
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


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SIP_USER = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
_EXTENSION = re.compile(r"^[0-9]{2,8}$")


def clean_email(value: str | None, field: str = "email") -> str | None:
    """An e-mail address, lower-cased (None stays None)."""
    if value is None:
        return None
    if not _EMAIL.match(value) or len(value) > 320 or first_control(value) is not None:
        raise InvalidInput(field, f"Not an e-mail address: {value!r}")
    return value.lower()


def check_no_service_role(role: Role, no_service: bool) -> None:
    """CFG-2: only administrators and supervisors may have the no-service option."""
    if no_service and role is Role.USER:
        raise InvalidInput(
            "no_service", "Only administrators and supervisors can have the no-service option (CFG-2)"
        )


def check_extension(extension: str, emergency: bool) -> None:
    """EMG-4: no extension shadows an emergency number (``emergency``: built in or the operator's)."""
    if not _EXTENSION.match(extension):
        raise InvalidInput("extension", "An extension is 2 to 8 digits")
    if emergency:
        raise TermViolation(
            "EMG-4",
            f"{extension} is an emergency number: dialling it must reach the emergency services",
            field="extension",
        )


def check_sip_username(username: str) -> None:
    """SIP-5: a SIP username of a device or registering trunk."""
    if not _SIP_USER.match(username):
        raise InvalidInput(
            "sip_username", "SIP usernames are 3-64 letters, digits, dots, dashes or underscores"
        )


def clean_trunk_addresses(text: str) -> str:
    """SIP-3: a PBX's addresses (``TrunkAddress``), comma-separated, in their canonical form."""
    cleaned = []
    for part in text.split(","):
        try:
            cleaned.append(str(TrunkAddress.parse(part)))
        except ValueError as exc:
            raise InvalidInput(
                "allowed_ips", f"Not an IP address, network or address:port: {part.strip()!r}"
            ) from exc
    if not cleaned:
        raise InvalidInput("allowed_ips", "IP authentication needs at least one address")
    return ",".join(cleaned)


def check_conference_pin(pin: str | None) -> None:
    """CFG-8: a conference room's PIN, when it has one, is 4 to 12 digits."""
    if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise InvalidInput("pin", "A conference PIN is 4 to 12 digits")


def check_block_size(size: int) -> None:
    """CFG-6: a block holds 1 to 10000 numbers."""
    check_positive("size", size)
    if size > 10000:
        raise InvalidInput("size", "A block holds at most 10000 numbers")


def blocks_overlap(first_a: str, size_a: int, first_b: str, size_b: int) -> bool:
    """CFG-6: whether two blocks of consecutive numbers share a number."""
    if len(first_a) != len(first_b):
        return False
    a, b = int(first_a[1:]), int(first_b[1:])
    return a < b + size_b and b < a + size_a


def in_block(e164: str, block: NumberBlock) -> bool:
    """CFG-6: whether a number falls inside a block's range."""
    if len(e164) != len(block.first_e164):
        return False
    start = int(block.first_e164[1:])
    return start <= int(e164[1:]) < start + block.size


SOUND_TYPES = frozenset(
    {
        "audio/wav",
        "audio/x-wav",
        "audio/mpeg",
        "audio/mp3",
        "audio/ogg",
        "audio/opus",
        "audio/flac",
        "audio/x-flac",
        "audio/basic",
    }
)
MAX_SOUND_BYTES = 20 * 1024 * 1024


def check_sound_file(content_type: str, size_bytes: int) -> None:
    """CFG-12: sound files are WAV, MP3, Ogg (Vorbis, Opus), FLAC or µ-law, of 1 byte to 20 MiB."""
    if content_type not in SOUND_TYPES:
        raise InvalidInput(
            "content_type", f"Sound files are WAV, MP3, Ogg, FLAC or µ-law, not {content_type!r}"
        )
    if not size_bytes or size_bytes > MAX_SOUND_BYTES:
        raise InvalidInput("content", f"A sound file has 1 byte to {MAX_SOUND_BYTES} bytes")


def check_carrier_gateway(
    host: str | None = None, port: int | None = None, transport: str | None = None
) -> None:
    """SIP-1: a carrier gateway has a host, a port 1..65535 and UDP, TCP or TLS."""
    if host is not None and not host.strip():
        raise InvalidInput("host", "The carrier gateway's host is required")
    if port is not None and not 1 <= port <= 65535:
        raise InvalidInput("port", "port must be 1..65535")
    if transport is not None and transport not in ("udp", "tcp", "tls"):
        raise InvalidInput("transport", "transport is udp, tcp or tls")
