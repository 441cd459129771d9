"""Phone configurations for two common vendors' formats (Yealink ``.cfg``, Snom XML), from records.

Pure functions: the MAC address a phone presents is normalised and checked, the vendor is known
from the MAC's organisationally unique identifier (the operator's catalogue lists which models it
supplies: HW-1's approved terminals), and a ``PhoneProfile`` becomes the bytes the phone fetches.
Every value written into a configuration is checked or escaped: a display name cannot inject a
line into a ``.cfg`` nor an element into XML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from xml.etree import ElementTree

from nuage.errors import InvalidInput

_MAC = re.compile(r"^[0-9a-f]{12}$")
_SAFE_LINE = re.compile(r"^[^\x00-\x1f\x7f]*$")


class Vendor(StrEnum):
    """The phone formats Nuage writes."""

    YEALINK = "yealink"
    SNOM = "snom"


#: organisationally unique identifiers (first three bytes of the MAC) of the vendors' phones
OUIS: dict[str, Vendor] = {
    "001565": Vendor.YEALINK,
    "805ec0": Vendor.YEALINK,
    "249ad8": Vendor.YEALINK,
    "44dbd2": Vendor.YEALINK,
    "000413": Vendor.SNOM,
}

_LANGUAGES = {
    Vendor.YEALINK: {"en": "English", "fr": "French", "nl": "Dutch"},
    Vendor.SNOM: {"en": "English", "fr": "Francais", "nl": "Nederlands"},
}


def normalise_mac(text: str) -> str:
    """A MAC address as 12 lowercase hex digits (``00:15:65:AB:CD:EF`` → ``001565abcdef``)."""
    mac = re.sub(r"[:\-.\s]", "", text.strip()).lower()
    if not _MAC.match(mac):
        raise InvalidInput("mac", f"Not a MAC address: {text[:40]!r}")
    if mac == "000000000000" or int(mac[1], 16) & 1:
        raise InvalidInput("mac", f"Not a device's MAC address (zero or multicast): {text[:40]!r}")
    return mac


def vendor_of(mac: str) -> Vendor | None:
    """The vendor whose phones carry this MAC's prefix, if it is one Nuage provisions."""
    return OUIS.get(normalise_mac(mac)[:6])


def config_filename(vendor: Vendor, mac: str) -> str:
    """The file name the vendor's phones ask for."""
    mac = normalise_mac(mac)
    return f"{mac}.cfg" if vendor is Vendor.YEALINK else f"snom-{mac.upper()}.xml"


@dataclass(frozen=True)
class PhoneProfile:
    """What a desk phone needs to register and ring as its user (from the device and user records)."""

    display_name: str
    sip_username: str
    sip_password: str
    domain: str  # the SIP realm
    proxy_host: str
    proxy_port: int
    transport: str = "udp"  # "udp", "tcp" or "tls"
    language: str = "en"
    time_zone: str = "Europe/Brussels"

    def __post_init__(self) -> None:
        for name in ("display_name", "sip_username", "sip_password", "domain", "proxy_host"):
            value = getattr(self, name)
            if not value or len(value) > 128 or not _SAFE_LINE.match(value):
                raise InvalidInput(name, f"{name} must be 1 to 128 characters without control characters")
        if not 1 <= self.proxy_port <= 65535:
            raise InvalidInput("proxy_port", "A port is 1 to 65535")
        if self.transport not in ("udp", "tcp", "tls"):
            raise InvalidInput("transport", "transport is udp, tcp or tls")
        if self.language not in ("en", "fr", "nl"):
            raise InvalidInput("language", "language is en, fr or nl")


def _cfg_value(value: str) -> str:
    # a .cfg line ends at its newline (refused by PhoneProfile); '#' would start a comment
    return value.replace("#", "%23")


def yealink_config(profile: PhoneProfile) -> bytes:
    """A Yealink ``<mac>.cfg``: account 1 registered to Nuage, the user's language and time zone."""
    transport = {"udp": 0, "tcp": 1, "tls": 2}[profile.transport]
    lines = [
        "#!version:1.0.0.1",
        "account.1.enable = 1",
        f"account.1.label = {_cfg_value(profile.display_name)}",
        f"account.1.display_name = {_cfg_value(profile.display_name)}",
        f"account.1.auth_name = {_cfg_value(profile.sip_username)}",
        f"account.1.user_name = {_cfg_value(profile.sip_username)}",
        f"account.1.password = {_cfg_value(profile.sip_password)}",
        f"account.1.sip_server.1.address = {_cfg_value(profile.proxy_host)}",
        f"account.1.sip_server.1.port = {profile.proxy_port}",
        f"account.1.sip_server.1.transport_type = {transport}",
        f"account.1.sip_server_host.legacy = {_cfg_value(profile.domain)}",
        f"lang.gui = {_LANGUAGES[Vendor.YEALINK][profile.language]}",
        f"local_time.time_zone_name = {profile.time_zone}",
        "",
    ]
    return "\n".join(lines).encode()


def snom_config(profile: PhoneProfile) -> bytes:
    """A Snom XML settings file: identity 1 registered to Nuage, language and time zone."""
    root = ElementTree.Element("settings")
    phone = ElementTree.SubElement(root, "phone-settings")
    values = {
        "user_active": "on",
        "user_realname": profile.display_name,
        "user_name": profile.sip_username,
        "user_pname": profile.sip_username,
        "user_pass": profile.sip_password,
        "user_host": profile.domain,
        "user_outbound": f"{profile.proxy_host}:{profile.proxy_port};transport={profile.transport}",
    }
    for name, value in values.items():
        element = ElementTree.SubElement(phone, name, idx="1", perm="R")
        element.text = value
    for name, value in (
        ("language", _LANGUAGES[Vendor.SNOM][profile.language]),
        ("timezone", profile.time_zone),
    ):
        element = ElementTree.SubElement(phone, name, perm="R")
        element.text = value
    body: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def render(vendor: Vendor, profile: PhoneProfile) -> bytes:
    """The configuration file's bytes in ``vendor``'s format."""
    return yealink_config(profile) if vendor is Vendor.YEALINK else snom_config(profile)


_YEALINK_FILE = re.compile(r"^([0-9a-fA-F]{12})\.cfg$")
_SNOM_FILE = re.compile(r"^snom-?[A-Za-z0-9]*-([0-9a-fA-F]{12})\.xml$|^snom-([0-9a-fA-F]{12})\.xml$")


def requested(filename: str) -> tuple[Vendor, str]:
    """The vendor format and MAC a phone asks for by file name (``001565abcdef.cfg``,
    ``snom-000413ABCDEF.xml``, or a Snom model's ``snom-D785-000413ABCDEF.xml``)."""
    if len(filename) <= 64:
        found = _YEALINK_FILE.match(filename)
        if found:
            return Vendor.YEALINK, normalise_mac(found.group(1))
        found = _SNOM_FILE.match(filename)
        if found:
            return Vendor.SNOM, normalise_mac(found.group(1) or found.group(2))
    raise InvalidInput("filename", "Not a phone configuration file this platform writes")


def config_for(vendor: Vendor, profile: PhoneProfile) -> tuple[str, bytes]:
    """The media type and bytes of a phone's configuration in its vendor's format."""
    if vendor is Vendor.YEALINK:
        return "text/plain; charset=utf-8", yealink_config(profile)
    return "application/xml", snom_config(profile)
