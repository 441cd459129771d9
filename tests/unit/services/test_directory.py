"""Directory and tenancy use cases: their rules, on the in-memory unit of work."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import soundfile

from nuage.directory.model import DeviceKind, LinePurpose, NumberScope, Role, RoomUse, SoundFile, TrunkAuth
from nuage.errors import Conflict, InvalidInput, NotFound, TermViolation
from nuage.media.sounds import convert
from nuage.services import tenancy as t
from nuage.services.context import Context
from nuage.services.directory.conferences import add_conference_room
from nuage.services.directory.devices import add_device
from nuage.services.directory.media import (
    add_traffic_pack,
    add_virtual_fax,
    add_web_channel,
    get_recording,
    set_recording,
)
from nuage.services.directory.numbers import add_number, add_number_block, assign_number
from nuage.services.directory.rooms import add_room
from nuage.services.directory.sound_files import (
    hold_music_file,
    remove_account_sound_files,
    set_hold_music,
    sound_path,
    sounds_dir,
    upload_sound_file,
)
from nuage.services.directory.trunks import add_trunk
from nuage.services.directory.users import UserChanges, add_user, update_user
from nuage.services.views import capacity_of
from nuage.tenancy.model import Language, OrderLine, Party
from nuage.tenancy.rules import contracting_party_id
from platforms import MemoryPlatform
from sound_samples import tone_file


@pytest.fixture
def world(platform: MemoryPlatform) -> dict[str, Party]:
    """An operator, two partners and a customer under each, plus a direct customer."""
    with platform.uow() as uow:
        op = t.create_operator(uow, Context.operator("-", platform.clock), "Operator")
        ctx = Context.operator(op.id, platform.clock)
        p1 = t.create_partner(uow, ctx, "Partner One", brand_name="One", brand_primary_color="#112233")
        p2 = t.create_partner(uow, ctx, "Partner Two")
        c1 = t.create_customer(uow, ctx, "Customer One", partner_id=p1.id)
        c2 = t.create_customer(uow, ctx, "Customer Two", partner_id=p2.id)
        direct = t.create_customer(uow, ctx, "Direct Customer", language=Language.NL)
        uow.commit()
    return {"op": op, "p1": p1, "p2": p2, "c1": c1, "c2": c2, "direct": direct}


def op_ctx(platform: MemoryPlatform, world: dict[str, Party]) -> Context:
    return Context.operator(world["op"].id, platform.clock)


def partner_ctx(platform: MemoryPlatform, partner: Party) -> Context:
    with platform.uow() as uow:
        return Context(t.scope_of(uow, partner.id), platform.clock)


@pytest.mark.rule("CFG-5")
@pytest.mark.parametrize("purpose", [LinePurpose.ALARM, LinePurpose.LIFT])
def test_alarm_and_lift_devices_and_trunks_are_refused_and_nothing_is_written(
    platform: MemoryPlatform, world: dict[str, Party], purpose: LinePurpose
) -> None:
    ctx = op_ctx(platform, world)
    account = world["c1"].id
    with platform.uow() as uow:
        with pytest.raises(TermViolation) as refused:
            add_device(uow, ctx, account, DeviceKind.DESK_PHONE, "Lift cabin", purpose=purpose)
        assert refused.value.rule_id == "CFG-5"
        assert refused.value.details["rule_id"] == "CFG-5"
        with pytest.raises(TermViolation, match=purpose.value) as trunk_refused:
            add_trunk(uow, ctx, account, "Alarm panel", TrunkAuth.IP, purpose=purpose, allowed_ips="10.0.0.1")
        assert trunk_refused.value.rule_id == "CFG-5"
        uow.commit()
    with platform.uow() as uow:
        assert uow.devices.count(account_id=account) == 0
        assert uow.trunks.count(account_id=account) == 0


@pytest.mark.rule("CFG-2")
def test_a_no_service_user_can_own_no_device(platform: MemoryPlatform, world: dict[str, Party]) -> None:
    ctx = op_ctx(platform, world)
    account = world["c1"].id
    with platform.uow() as uow:
        with pytest.raises(InvalidInput) as plain_user:
            add_user(uow, ctx, account, "Plain", role=Role.USER, no_service=True)
        assert plain_user.value.field == "no_service"
        boss = add_user(uow, ctx, account, "Boss", role=Role.ADMINISTRATOR, no_service=True)
        with pytest.raises(TermViolation) as refused:
            add_device(uow, ctx, account, DeviceKind.DESK_PHONE, "Boss desk", user_id=boss.id)
        assert refused.value.rule_id == "CFG-2"
        worker = add_user(uow, ctx, account, "Worker", role=Role.SUPERVISOR)
        add_device(uow, ctx, account, DeviceKind.SOFTPHONE_PC, "Worker PC", user_id=worker.id)
        with pytest.raises(TermViolation) as switch:
            update_user(uow, ctx, worker.id, UserChanges(no_service=True))
        assert switch.value.rule_id == "CFG-2"
        uow.commit()
        capacity = capacity_of(uow, ctx, account)
    assert (capacity.billable_users, capacity.channels) == (1, 2)


@pytest.mark.rule("CFG-6")
def test_numbers_are_validated_normalised_and_classified(
    platform: MemoryPlatform, world: dict[str, Party]
) -> None:
    ctx = op_ctx(platform, world)
    account = world["c1"].id
    with platform.uow() as uow:
        block = add_number_block(
            uow,
            ctx,
            account,
            "+32 2 300 01 00",
            100,
            street="Rue Haute 1",
            postal_code="1000",
            city="Bruxelles",
            country="be",
        )
        national = add_number(uow, ctx, account, "02 300 01 05")
        foreign = add_number(uow, ctx, account, "+33 1 42 68 53 00")
        with pytest.raises(InvalidInput) as bad:
            add_number(uow, ctx, account, "+32 12")
        with pytest.raises(InvalidInput) as outside:
            add_number(uow, ctx, account, "+3223000300", block_id=block.id)
        with pytest.raises(Conflict):
            add_number(uow, ctx, account, "+3223000105")
        with pytest.raises(Conflict):
            add_number_block(uow, ctx, account, "+3223000150", 10)
        uow.commit()
    assert (bad.value.field, outside.value.field) == ("e164", "e164")
    assert (national.e164, national.scope, national.block_id) == (
        "+3223000105",
        NumberScope.NATIONAL,
        block.id,
    )
    assert (foreign.scope, foreign.block_id) == (NumberScope.INTERNATIONAL, None)
    assert block.country == "BE"


@pytest.mark.rule("CFG-7")
def test_a_virtual_fax_is_bound_to_one_free_number(platform: MemoryPlatform, world: dict[str, Party]) -> None:
    ctx = op_ctx(platform, world)
    account = world["c1"].id
    with platform.uow() as uow:
        number = add_number(uow, ctx, account, "+3223000110")
        fax = add_virtual_fax(uow, ctx, account, number.id, "Fax@Example.com")
        with pytest.raises(Conflict):
            add_virtual_fax(uow, ctx, account, number.id, "other@example.com")
        with pytest.raises(Conflict):
            assign_number(uow, ctx, number.id, user_id=add_user(uow, ctx, account, "Someone").id)
        uow.commit()
    assert fax.email == "fax@example.com"


@pytest.mark.rule("CFG-9")
def test_recording_needs_an_administrator_who_acknowledges_the_legal_duties(
    platform: MemoryPlatform, world: dict[str, Party]
) -> None:
    ctx = op_ctx(platform, world)
    account = world["c1"].id
    with platform.uow() as uow:
        admin = add_user(uow, ctx, account, "Admin", role=Role.ADMINISTRATOR)
        user = add_user(uow, ctx, account, "User")
        with pytest.raises(TermViolation, match="administrator") as by_user:
            set_recording(uow, ctx, account, enabled=True, administrator_id=user.id, acknowledged=True)
        with pytest.raises(TermViolation, match="acknowledge") as unacknowledged:
            set_recording(uow, ctx, account, enabled=True, administrator_id=admin.id, acknowledged=False)
        setting = set_recording(uow, ctx, account, enabled=True, administrator_id=admin.id, acknowledged=True)
        uow.commit()
    assert by_user.value.rule_id == unacknowledged.value.rule_id == "CFG-9"
    assert (setting.enabled, setting.acknowledged_by_user_id, setting.acknowledged_at) == (
        True,
        admin.id,
        platform.clock.now(),
    )
    with platform.uow() as uow:
        assert get_recording(uow, ctx, account) == setting


def _upload(
    uow: object, ctx: Context, folder: Path, account: str, content_type: str, content: bytes, ack: bool
) -> tuple[SoundFile, Path]:
    return upload_sound_file(
        uow,  # type: ignore[arg-type]
        ctx,
        folder,
        account,
        "Hold",
        content_type,
        content,
        convert,
        uploaded_by_user_id=None,
        copyright_acknowledged=ack,
    )


@pytest.mark.rule("CFG-12")
def test_a_sound_file_needs_the_copyright_acknowledgment(
    platform: MemoryPlatform, world: dict[str, Party], tmp_path: Path
) -> None:
    ctx = op_ctx(platform, world)
    account = world["c1"].id
    content = tone_file(440, 1)
    with platform.uow() as uow:
        with pytest.raises(TermViolation) as refused:
            _upload(uow, ctx, tmp_path, account, "audio/wav", content, False)
        with pytest.raises(InvalidInput) as wrong_type:
            _upload(uow, ctx, tmp_path, account, "text/plain", b"x", True)
        sound, path = _upload(uow, ctx, tmp_path, account, "audio/wav", content, True)
        uow.commit()
    assert refused.value.rule_id == "CFG-12"
    assert wrong_type.value.field == "content_type"
    assert (sound.size_bytes, len(sound.sha256), sound.copyright_acknowledged_at) == (
        len(content),
        64,
        platform.clock.now(),
    )
    assert path == sound_path(tmp_path, account, sound.id)
    assert soundfile.info(str(path)).samplerate == 8000


@pytest.mark.rule("CFG-12")
def test_an_account_that_leaves_takes_its_sound_files_and_music_on_hold(
    platform: MemoryPlatform, world: dict[str, Party], tmp_path: Path
) -> None:
    ctx = op_ctx(platform, world)
    account, other = world["c1"].id, world["c2"].id
    with platform.uow() as uow:
        sound, _ = _upload(uow, ctx, tmp_path, account, "audio/wav", tone_file(700, 1), True)
        kept, kept_path = _upload(uow, ctx, tmp_path, other, "audio/wav", tone_file(700, 1), True)
        set_hold_music(uow, ctx, account, sound.id)
        with pytest.raises(NotFound):  # another account's file is not the account's music (TEN-4)
            set_hold_music(uow, ctx, account, kept.id)
        uow.commit()
    with platform.uow() as uow:
        assert hold_music_file(uow, tmp_path, account) == (sound_path(tmp_path, account, sound.id), 1000)
        folder = remove_account_sound_files(uow, ctx, tmp_path, account)
        uow.commit()
    shutil.rmtree(folder)
    with platform.uow() as uow:
        assert uow.sound_files.list(account_id=account) == []
        assert hold_music_file(uow, tmp_path, account) is None
        assert [s.id for s in uow.sound_files.list(account_id=other)] == [kept.id]
    assert not sounds_dir(tmp_path, account).exists()
    assert kept_path.exists()


@pytest.mark.rule("CFG-13")
def test_a_hot_desk_phone_is_linked_to_no_user(platform: MemoryPlatform, world: dict[str, Party]) -> None:
    ctx = op_ctx(platform, world)
    account = world["c1"].id
    with platform.uow() as uow:
        user = add_user(uow, ctx, account, "Desk hopper")
        with pytest.raises(InvalidInput) as refused:
            add_device(uow, ctx, account, DeviceKind.DESK_PHONE, "Shared", user_id=user.id, hot_desk=True)
        phone = add_device(uow, ctx, account, DeviceKind.DESK_PHONE, "Shared", hot_desk=True)
        uow.commit()
    assert refused.value.field == "user_id"
    assert phone.hot_desk
    assert phone.user_id is None


@pytest.mark.rule("CFG-11")
@pytest.mark.rule("CAP-2")
def test_a_traffic_pack_with_a_channel_limit_sets_the_capacity(
    platform: MemoryPlatform, world: dict[str, Party]
) -> None:
    ctx = op_ctx(platform, world)
    account = world["c1"].id
    with platform.uow() as uow:
        for n in range(6):
            add_user(uow, ctx, account, f"User {n}")
        assert capacity_of(uow, ctx, account).channels == 3
        with pytest.raises(InvalidInput):
            add_traffic_pack(uow, ctx, account, "Empty", valid_from=date(2026, 1, 1))
        add_traffic_pack(
            uow,
            ctx,
            account,
            "Big pack",
            minutes=5000,
            amount=Decimal("99.90"),
            channel_limit=12,
            valid_from=date(2026, 1, 1),
        )
        uow.commit()
        capacity = capacity_of(uow, ctx, account)
        (pack,) = uow.packs.list(account_id=account)
    assert (capacity.channels, capacity.rule_id) == (12, "CAP-2")
    assert pack.amount == Decimal("99.90")


@pytest.mark.rule("SIP-5")
def test_devices_get_strong_generated_sip_passwords_and_weak_ones_are_refused(
    platform: MemoryPlatform, world: dict[str, Party]
) -> None:
    ctx = op_ctx(platform, world)
    account = world["c1"].id
    with platform.uow() as uow:
        generated = add_device(uow, ctx, account, DeviceKind.DOOR_PHONE, "Door")
        with pytest.raises(TermViolation) as weak:
            add_device(uow, ctx, account, DeviceKind.DOOR_PHONE, "Door 2", sip_password="secret")
        with pytest.raises(Conflict):
            add_device(
                uow, ctx, account, DeviceKind.DOOR_PHONE, "Door 3", sip_username=generated.sip_username
            )
    assert weak.value.rule_id == "SIP-5"
    assert generated.sip_password is not None
    assert len(generated.sip_password) >= 24


@pytest.mark.rule("TEN-3")
def test_an_order_records_the_terms_version_language_and_acceptance_time(
    platform: MemoryPlatform, world: dict[str, Party]
) -> None:
    ctx = partner_ctx(platform, world["p1"])
    with platform.uow() as uow:
        order = t.place_order(
            uow,
            ctx,
            world["c1"].id,
            terms_version="2026-01",
            language=Language.FR,
            accepted_by="Alice Dupont",
            service_start_on=date(2026, 3, 10),
            lines=[OrderLine("hardware:desk_phone", 2, "Desk phones")],
        )
        with pytest.raises(InvalidInput) as no_version:
            t.place_order(
                uow,
                ctx,
                world["c1"].id,
                terms_version=" ",
                language=Language.FR,
                accepted_by="x",
                service_start_on=date(2026, 3, 10),
            )
        uow.commit()
    with platform.uow() as uow:
        stored = uow.orders.get(order.id)
    assert (stored.terms_version, stored.language, stored.accepted_at) == (
        "2026-01",
        Language.FR,
        platform.clock.now(),
    )
    assert (stored.placed_by_party_id, stored.minimum_term_months) == (world["p1"].id, 24)
    assert stored.lines == [OrderLine("hardware:desk_phone", 2, "Desk phones")]
    assert no_version.value.field == "terms_version"


@pytest.mark.rule("TEN-4")
def test_a_partner_sees_only_its_own_customers(platform: MemoryPlatform, world: dict[str, Party]) -> None:
    ctx = partner_ctx(platform, world["p1"])
    with platform.uow() as uow:
        assert [c.id for c in t.list_customers(uow, ctx)] == [world["c1"].id]
        with pytest.raises(NotFound) as other:
            t.get_customer(uow, ctx, world["c2"].id)
        with pytest.raises(NotFound) as missing:
            t.get_customer(uow, ctx, "cus_doesnotexist")
        with pytest.raises(NotFound):
            add_user(uow, ctx, world["c2"].id, "Intruder")
        with pytest.raises(NotFound):
            t.create_customer(uow, ctx, "Poached", partner_id=world["p2"].id)
        with pytest.raises(NotFound):
            t.create_partner(uow, ctx, "Rogue partner")
    # TEN-4: another tenant's object is answered exactly like one that does not exist
    assert type(other.value) is type(missing.value)
    assert other.value.error_id == missing.value.error_id == "not-found"


@pytest.mark.rule("TEN-4")
def test_items_of_another_account_are_not_found(platform: MemoryPlatform, world: dict[str, Party]) -> None:
    ctx = op_ctx(platform, world)
    with platform.uow() as uow:
        other_user = add_user(uow, ctx, world["c2"].id, "Other")
        uow.commit()
    p1 = partner_ctx(platform, world["p1"])
    with platform.uow() as uow:
        with pytest.raises(NotFound):
            update_user(uow, p1, other_user.id, UserChanges(name="Renamed"))
        with pytest.raises(NotFound):
            add_device(uow, p1, world["c1"].id, DeviceKind.DESK_PHONE, "Desk", user_id=other_user.id)


@pytest.mark.rule("TEN-5")
def test_the_contracting_party_is_the_partner_for_indirect_customers(world: dict[str, Party]) -> None:
    assert contracting_party_id(world["c1"]) == world["p1"].id
    assert contracting_party_id(world["direct"]) == world["direct"].id
    assert world["direct"].is_direct
    assert not world["c1"].is_direct
    assert world["p1"].white_label
    assert not world["p2"].white_label


@pytest.mark.rule("PAY-4")
def test_moving_a_customer_keeps_its_whole_configuration(
    platform: MemoryPlatform, world: dict[str, Party]
) -> None:
    ctx = op_ctx(platform, world)
    account = world["c1"].id
    with platform.uow() as uow:
        user = add_user(uow, ctx, account, "Stays", extension="110")
        device = add_device(uow, ctx, account, DeviceKind.DESK_PHONE, "Desk", user_id=user.id)
        number = add_number(uow, ctx, account, "+3223000120")
        assign_number(uow, ctx, number.id, user_id=user.id)
        add_trunk(uow, ctx, account, "PBX", TrunkAuth.REGISTRATION)
        add_room(uow, ctx, account, "Kitchen", RoomUse.NON_USERS)
        uow.commit()

    def snapshot() -> tuple[object, ...]:
        with platform.uow() as uow:
            return (
                uow.users.list(account_id=account),
                uow.devices.list(account_id=account),
                uow.numbers.list(account_id=account),
                uow.trunks.list(account_id=account),
                uow.rooms.list(account_id=account),
            )

    before = snapshot()
    with platform.uow() as uow:
        moved = t.move_customer(uow, ctx, account, world["p2"].id)
        uow.commit()
    assert moved.partner_id == world["p2"].id
    assert contracting_party_id(moved) == world["p2"].id
    assert snapshot() == before
    with platform.uow() as uow:
        direct = t.move_customer(uow, ctx, account, None)
        with pytest.raises(InvalidInput):
            t.move_customer(uow, ctx, account, None)
        with pytest.raises(TermViolation) as not_partner:
            t.move_customer(uow, ctx, account, world["direct"].id)
        uow.commit()
    assert direct.is_direct
    assert contracting_party_id(direct) == account
    assert not_partner.value.rule_id == "PAY-4"
    assert snapshot() == before
    p2 = partner_ctx(platform, world["p2"])
    with platform.uow() as uow, pytest.raises(NotFound):
        t.move_customer(uow, p2, world["c2"].id, world["p1"].id)  # only the operator moves customers
    assert device.user_id == user.id


def test_a_use_case_that_fails_half_way_writes_nothing(
    platform: MemoryPlatform, world: dict[str, Party]
) -> None:
    ctx = op_ctx(platform, world)
    account = world["c1"].id
    with platform.uow() as uow:
        add_user(uow, ctx, account, "Half")
        with pytest.raises(InvalidInput):
            add_number(uow, ctx, account, "not a number")
        # leaving without commit: the unit of work rolls back
    with platform.uow() as uow:
        assert uow.users.count(account_id=account) == 0


@pytest.mark.rule("EMG-4")
@pytest.mark.parametrize("extension", ["112", "100", "101"])
def test_an_extension_cannot_shadow_an_emergency_number(
    platform: MemoryPlatform, world: dict[str, Party], extension: str
) -> None:
    ctx = op_ctx(platform, world)
    with platform.uow() as uow:
        with pytest.raises(TermViolation) as refused:
            add_user(uow, ctx, world["c1"].id, "Shadow", extension=extension)
        user = add_user(uow, ctx, world["c1"].id, "Fine", extension="102")
        with pytest.raises(TermViolation):
            update_user(uow, ctx, user.id, UserChanges(extension=extension))
    assert refused.value.rule_id == "EMG-4"


@pytest.mark.rule("CFG-8")
def test_each_conference_room_counts_once_and_pins_are_digits(
    platform: MemoryPlatform, world: dict[str, Party]
) -> None:
    ctx = op_ctx(platform, world)
    account = world["c1"].id
    with platform.uow() as uow:
        add_conference_room(uow, ctx, account, "Weekly", pin="4321")
        add_conference_room(uow, ctx, account, "Board")
        with pytest.raises(InvalidInput) as bad_pin:
            add_conference_room(uow, ctx, account, "Bad", pin="12ab")
        uow.commit()
        assert uow.conference_rooms.count(account_id=account) == 2
    assert bad_pin.value.field == "pin"


@pytest.mark.rule("CFG-10")
def test_only_the_operator_configures_click_to_call_channels(
    platform: MemoryPlatform, world: dict[str, Party]
) -> None:
    account = world["c1"].id
    with platform.uow() as uow:
        with pytest.raises(InvalidInput) as by_partner:
            add_web_channel(uow, partner_ctx(platform, world["p1"]), account, "Website", 2)
        channel = add_web_channel(
            uow, op_ctx(platform, world), account, "Website", 2, allowed_origin="https://one.example"
        )
        with pytest.raises(InvalidInput):
            add_web_channel(uow, op_ctx(platform, world), account, "None", 0)
        uow.commit()
    assert by_partner.value.field == "channels"
    assert (channel.channels, channel.allowed_origin) == (2, "https://one.example")
