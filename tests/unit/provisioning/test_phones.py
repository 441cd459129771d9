"""HW-1 provisioning: a desk phone's configuration by MAC, in Yealink's and Snom's formats."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from nuage.errors import InvalidInput
from nuage.provisioning.phones import (
    PhoneProfile,
    Vendor,
    config_filename,
    normalise_mac,
    render,
    vendor_of,
)

PROFILE = PhoneProfile(
    display_name="Alice <Dupont> & #1",
    sip_username="alice",
    sip_password="S3cret-Phone!",
    domain="nuage.local",
    proxy_host="sip.example.net",
    proxy_port=5061,
    transport="tls",
    language="nl",
)


@pytest.mark.rule("HW-1")
def test_mac_addresses_are_normalised_and_name_the_vendor_and_the_file() -> None:
    assert normalise_mac("00:15:65:AB:CD:EF") == "001565abcdef"
    assert vendor_of("00-04-13-12-34-56") is Vendor.SNOM
    assert vendor_of("02:00:00:00:00:01") is None  # not a vendor Nuage provisions
    assert config_filename(Vendor.YEALINK, "00:15:65:ab:cd:ef") == "001565abcdef.cfg"
    assert config_filename(Vendor.SNOM, "000413123456") == "snom-000413123456.xml"
    for bad in ("00:15:65:ab:cd", "zz1565abcdef", "000000000000", "01:00:5e:00:00:01"):
        with pytest.raises(InvalidInput):
            normalise_mac(bad)


@pytest.mark.rule("HW-1")
def test_a_yealink_file_registers_the_user_with_nothing_injected() -> None:
    text = render(Vendor.YEALINK, PROFILE).decode()
    assert "account.1.user_name = alice" in text
    assert "account.1.password = S3cret-Phone!" in text
    assert "account.1.sip_server.1.port = 5061" in text
    assert "account.1.sip_server.1.transport_type = 2" in text
    assert "lang.gui = Dutch" in text
    assert "account.1.label = Alice <Dupont> & %231" in text  # '#' would start a comment
    with pytest.raises(InvalidInput):
        PhoneProfile("Eve\naccount.2.enable = 1", "eve", "pw", "nuage.local", "h", 5060)


@pytest.mark.rule("HW-1")
def test_a_snom_file_is_well_formed_xml_with_the_users_identity() -> None:
    root = ElementTree.fromstring(render(Vendor.SNOM, PROFILE))
    phone = root.find("phone-settings")
    assert phone is not None
    settings = {element.tag: element.text for element in phone}
    assert settings["user_realname"] == "Alice <Dupont> & #1"  # escaped, then read back whole
    assert settings["user_name"] == "alice"
    assert settings["user_outbound"] == "sip.example.net:5061;transport=tls"
    assert settings["language"] == "Nederlands"


@pytest.mark.rule("HW-1")
def test_the_file_a_phone_asks_for_names_its_vendor_and_mac() -> None:
    from nuage.provisioning.phones import requested

    assert requested("805ec0123456.cfg") == (Vendor.YEALINK, "805ec0123456")
    assert requested("snom-000413AABBCC.xml") == (Vendor.SNOM, "000413aabbcc")
    assert requested("snom-D785-000413AABBCC.xml") == (Vendor.SNOM, "000413aabbcc")
    for name in ("y000000000000.cfg", "../805ec0123456.cfg", "805ec0123456.cfg.bak", "x" * 200):
        with pytest.raises(InvalidInput):
            requested(name)
