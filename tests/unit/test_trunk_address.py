"""SIP-3: the entries of an IP trunk's ``allowed_ips``, read once for the API and the SIP plane."""

from __future__ import annotations

import pytest

from nuage.directory.model import TrunkAddress


@pytest.mark.rule("SIP-3")
@pytest.mark.parametrize(
    ("text", "canonical", "port"),
    [
        ("192.0.2.10", "192.0.2.10/32", None),
        (" 192.0.2.0/24 ", "192.0.2.0/24", None),
        ("192.0.2.10:5072", "192.0.2.10:5072", 5072),
        ("2001:db8::1", "2001:db8::1/128", None),
        ("[2001:db8::1]", "2001:db8::1/128", None),
        ("[2001:db8::1]:5080", "[2001:db8::1]:5080", 5080),
    ],
)
def test_an_address_a_block_or_an_exact_source(text: str, canonical: str, port: int | None) -> None:
    address = TrunkAddress.parse(text)
    assert str(address) == canonical
    assert address.port == port
    assert TrunkAddress.parse(canonical) == address


@pytest.mark.rule("SIP-3")
@pytest.mark.parametrize(
    "text", ["pbx.example", "192.0.2.0/24:5060", "192.0.2.10:0", "192.0.2.10:65536", "192.0.2.10:x", "[::1]x"]
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the address module's own error
        TrunkAddress.parse(text)
