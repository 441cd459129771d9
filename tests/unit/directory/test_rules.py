"""The directory's write-time rules, pure (the use cases' tests prove them through storage)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.directory.model import NumberBlock, Role
from nuage.directory.rules import (
    blocks_overlap,
    check_conference_pin,
    check_extension,
    check_no_service_role,
    check_sip_password,
    clean_trunk_addresses,
    generate_sip_password,
    in_block,
)
from nuage.errors import InvalidInput, TermViolation

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.rule("CFG-2")
def test_only_administrators_and_supervisors_may_be_no_service() -> None:
    check_no_service_role(Role.ADMINISTRATOR, True)
    check_no_service_role(Role.SUPERVISOR, True)
    check_no_service_role(Role.USER, False)
    with pytest.raises(InvalidInput) as refused:
        check_no_service_role(Role.USER, True)
    assert refused.value.field == "no_service"


@pytest.mark.rule("EMG-4")
def test_an_extension_is_two_to_eight_digits_and_no_emergency_number() -> None:
    check_extension("201", False)
    with pytest.raises(InvalidInput):
        check_extension("2", False)
    with pytest.raises(TermViolation) as refused:
        check_extension("112", True)
    assert refused.value.rule_id == "EMG-4"


@pytest.mark.rule("CFG-6")
def test_blocks_overlap_only_on_a_shared_number_of_the_same_length() -> None:
    assert blocks_overlap("+3222000100", 100, "+3222000199", 10)
    assert not blocks_overlap("+3222000100", 100, "+3222000200", 10)
    assert not blocks_overlap("+3222000100", 100, "+32220001000", 10)
    block = NumberBlock("blk", "acc", "+3222000100", 100, T0)
    assert in_block("+3222000199", block)
    assert not in_block("+3222000200", block)


@pytest.mark.rule("SIP-3")
def test_trunk_addresses_are_stored_in_their_canonical_form() -> None:
    assert clean_trunk_addresses(" 192.0.2.10 , 198.51.100.0/24") == "192.0.2.10/32,198.51.100.0/24"
    with pytest.raises(InvalidInput) as refused:
        clean_trunk_addresses("192.0.2.10, pbx.example")
    assert refused.value.field == "allowed_ips"


@pytest.mark.rule("CFG-8")
def test_a_conference_pin_is_four_to_twelve_digits() -> None:
    check_conference_pin(None)
    check_conference_pin("1234")
    for pin in ("123", "12345678901234", "12a4"):
        with pytest.raises(InvalidInput):
            check_conference_pin(pin)


@pytest.mark.rule("SIP-5")
def test_every_generated_sip_password_passes_the_password_policy() -> None:
    """A password the platform draws for a device (the portal's "new SIP password", a new
    device's) is never refused by the rule it is drawn for: about 1.5 % of plain draws of 24
    letters and digits lack a kind."""
    for _ in range(3000):
        password = generate_sip_password()
        check_sip_password(password)
        assert len(password) == 24
