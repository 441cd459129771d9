"""A user's own pages in Chromium: its devices (a new SIP password shown once), its voicemail
(a message listened to in the page, marked heard, deleted; the PIN; a greeting) and its calls,
never anyone else's; an administrator removes a device."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
import pytest
import soundfile
from playwright.sync_api import Page

from nuage.directory.model import CallRecording
from nuage.directory.voicemail import Folder, VoicemailMessage
from nuage.services import voicemail as vm
from nuage.services.access import verify_secret
from nuage.services.context import Context
from nuage.services.directory.media import recording_file
from nuage.shared.ids import new_id
from nuage.sip.ports import CallOutcome, CdrRecord, Direction
from nuage.storage.sql.sip_records import SqlCdrSink
from nuage.tenancy.model import PartyKind
from web.conftest import Live, log_in, text
from web.page_support import post, run, shoot, status_of

RATE = 8000


def _tone(hz: float = 440.0, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def _bobs_message(live: Live) -> tuple[str, str]:
    """Bob's box with one new message (a 440 Hz tone, as the SIP plane stores it); (box, message)."""
    data_dir = live.platform.settings.data_dir
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    with live.platform.uow() as uow:
        ctx = Context.operator("op", live.clock)
        bob = uow.users.find_by(email="bob@dupont.example")
        assert bob is not None
        box = vm.create_box(uow, ctx, dupont, user_id=bob.id)
        message = VoicemailMessage(
            new_id("vmm"), box.id, dupont, "+3222001122", live.clock.now(), 1000, 0, caller_name="Eve"
        )
        path = vm.message_file(data_dir, box, message.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, _tone(), RATE, format="FLAC", subtype="PCM_16")
        vm.add_message(uow, box, message)
        uow.commit()
        return box.id, message.id


@pytest.mark.rule("TEN-4")
def test_a_user_listens_to_its_voicemail_in_the_page_and_no_one_else_can(page: Page, live: Live) -> None:
    box_id, message_id = _bobs_message(live)
    log_in(page, "bob@dupont.example")
    page.click("text=My voicemail")
    row = page.locator(f"tr[data-message='{message_id}']")
    assert "Eve +3222001122" in row.inner_text()
    source = row.locator("audio").get_attribute("src")
    assert source == f"/my/voicemail/messages/{message_id}/audio"
    # the browser plays it (the page's policy lets audio from this origin in): a one-second message
    seconds = page.evaluate(
        """async () => {
            const audio = document.querySelector("audio");
            audio.preload = "auto";
            await new Promise((ok, fail) => {
                audio.onloadedmetadata = ok; audio.onerror = fail; audio.load(); });
            return audio.duration;
        }"""
    )
    assert abs(seconds - 1.0) < 0.05
    shoot(page, "user-voicemail")
    answer = page.request.get(source)
    assert answer.status == 200
    assert answer.headers["content-type"] == "audio/flac"
    heard, rate = soundfile.read(io.BytesIO(answer.body()), dtype="int16")
    assert rate == RATE
    assert np.array_equal(heard, _tone())  # the recorded audio, sample for sample

    with page.expect_navigation():
        row.locator("button.heard").click()
    assert "The message was marked heard." in text(page)
    with live.platform.uow() as uow:
        stored = uow.voicemail_messages.find(message_id)
        assert stored is not None
        assert stored.folder is Folder.OLD

    # another user of the same account, and its administrator, do not find it (own pages only)
    for other in ("chloe@dupont.example", "alice@dupont.example"):
        elsewhere = page.context.browser.new_context(base_url=live.base)  # type: ignore[union-attr]
        try:
            theirs = elsewhere.new_page()
            log_in(theirs, other)
            assert theirs.request.get(source).status == 404
            assert status_of(theirs, "/my/voicemail") == 200
            assert "You have no voicemail box." in text(theirs)
            assert post(theirs, f"/my/voicemail/messages/{message_id}/delete", {}) == 404
            assert post(theirs, f"/my/voicemail/boxes/{box_id}/pin", {"pin": "4826"}) == 404
        finally:
            elsewhere.close()

    with page.expect_navigation():
        row.locator("button.delete").click()
    assert "The message was deleted." in text(page)
    assert "No messages." in page.locator("#box-212").inner_text()
    assert page.request.get(source).status == 404
    with live.platform.uow() as uow:
        box = uow.voicemail_boxes.find(box_id)
        assert box is not None
        assert not vm.message_file(live.platform.settings.data_dir, box, message_id).exists()


def test_a_user_changes_its_pin_and_uploads_a_greeting(page: Page, live: Live) -> None:
    box_id, _ = _bobs_message(live)
    log_in(page, "bob@dupont.example")
    page.goto("/my/voicemail")
    page.fill(f"#pin-{box_id}", "1234")  # a run of digits: refused in the API's words
    with page.expect_navigation():
        page.click("button.set-pin")
    assert "A voicemail PIN must not be one digit repeated or a run of digits" in text(page)
    page.fill(f"#pin-{box_id}", "4826")
    with page.expect_navigation():
        page.click("button.set-pin")
    assert "The voicemail PIN was changed." in text(page)
    assert "A PIN is set; it is never shown." in text(page)
    wav = io.BytesIO()
    soundfile.write(wav, _tone(330.0, 0.5), RATE, format="WAV", subtype="PCM_16")
    page.select_option(f"#greeting-{box_id}", "busy")
    page.set_input_files(
        f"#file-{box_id}", {"name": "busy.wav", "mimeType": "audio/wav", "buffer": wav.getvalue()}
    )
    with page.expect_navigation():
        page.click("button.upload-greeting")
    assert "The greeting was uploaded." in text(page)
    with live.platform.uow() as uow:
        box = uow.voicemail_boxes.find(box_id)
        assert box is not None
        assert verify_secret(box.pin_hash, "4826")
        assert box.greetings == ("busy",)
    stored, rate = soundfile.read(vm.greeting_file(live.platform.settings.data_dir, box, vm.Greeting.BUSY))
    assert rate == RATE
    assert len(stored) == RATE // 2


@pytest.mark.rule("SIP-5")
def test_a_user_sets_a_new_sip_password_for_its_own_device_only(page: Page, live: Live) -> None:
    log_in(page, "bob@dupont.example")
    page.click("text=My devices")
    listed = page.locator("#my-devices").inner_text()
    assert "Bob's desk phone" in listed
    assert "Desk phone" in listed  # the kind in words
    assert "alice" not in listed
    with page.expect_navigation():
        page.click("button[data-device='bob']")
    password = page.locator("#sip-password").inner_text()
    assert len(password) >= 16
    assert page.locator("#sip-qr svg").count() == 1
    with live.platform.uow() as uow:
        device = uow.devices.find_by(sip_username="bob")
        alices = uow.devices.find_by(sip_username="alice")
        assert device is not None
        assert alices is not None
        assert device.sip_password == password
    assert page.url.endswith("/my/devices")  # POST/redirect/GET: the form answered with a redirect
    page.reload()  # a reload asks for the page again, it does not draw another password
    assert password not in page.content()  # SIP-5: shown that once
    with live.platform.uow() as uow:
        again = uow.devices.find_by(sip_username="bob")
        assert again is not None
        assert again.sip_password == password
    assert post(page, f"/my/devices/{alices.id}/password", {}) == 404  # another user's device


@pytest.mark.rule("CFG-9")
def test_a_user_sees_its_own_calls_only_and_plays_their_recordings(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    with live.platform.uow() as uow:
        devices = {d.sip_username: d.id for d in uow.devices.list(account_id=dupont)}
    began = live.clock.now() - timedelta(hours=1)
    records = [
        CdrRecord(
            call_id=f"own-{who}",
            caller=caller,
            callee="+3222001122",
            account_id=dupont,
            device_id=devices[who],
            trunk_id=None,
            direction=Direction.OUTBOUND,
            started_at=began,
            answered_at=began + timedelta(seconds=1),
            ended_at=began + timedelta(seconds=61),
            billable_seconds=60,
            outcome=CallOutcome.ANSWERED,
            sip_status=200,
            refusal_rule_id=None,
            emergency=False,
        )
        for who, caller in (("bob", "212"), ("alice", "211"))
    ]
    run(SqlCdrSink(live.platform.engine).write(records))
    stereo = np.stack([_tone(440.0), _tone(660.0)], axis=1)
    recordings = {}
    with live.platform.uow() as uow:
        for who in ("bob", "alice"):
            recording = CallRecording(new_id("rec"), dupont, f"own-{who}", 0, 1000, live.clock.now())
            path = recording_file(live.platform.settings.data_dir, dupont, recording.id)
            path.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(path, stereo, RATE, format="FLAC", subtype="PCM_16")
            uow.call_recordings.add(recording)
            recordings[who] = recording.id
        uow.commit()
    log_in(page, "bob@dupont.example")
    page.click("text=My calls")
    calls = page.locator("#calls").inner_text()
    assert "212" in calls
    assert "211" not in calls
    source = page.locator("#calls audio").get_attribute("src")
    assert source == f"/my/recordings/{recordings['bob']}/audio"  # one recording: his call's
    answer = page.request.get(source)
    assert answer.status == 200
    assert answer.headers["content-type"] == "audio/flac"
    heard, _ = soundfile.read(io.BytesIO(answer.body()), dtype="int16")
    assert np.array_equal(heard, stereo)  # both directions of the call, as recorded
    assert page.request.get(f"/my/recordings/{recordings['alice']}/audio").status == 404


def test_an_administrator_removes_a_device(page: Page, live: Live) -> None:
    dupont = live.party_id(PartyKind.CUSTOMER, "Atelier Dupont")
    log_in(page, "alice@dupont.example")
    page.goto(f"/accounts/{dupont}/devices")
    with page.expect_navigation():
        page.get_by_role("button", name="Remove Bob's desk phone").click()
    assert "The device was removed." in text(page)
    assert "Bob's desk phone" not in page.locator("#devices").inner_text()
    with live.platform.uow() as uow:
        assert uow.devices.find_by(sip_username="bob") is None


@pytest.mark.rule("EMG-2")
def test_a_user_sets_its_forwarding_and_do_not_disturb(page: Page, live: Live) -> None:
    log_in(page, "bob@dupont.example")
    page.click("text=My forwarding")
    page.fill("#unconditional", "112")
    with page.expect_navigation():
        page.click("#save-forwarding")
    assert "Refused by rule EMG-2" in page.locator("#refusal").inner_text()  # never an emergency number
    page.fill("#unconditional", "")
    page.fill("#no_answer", "211")
    page.fill("#no_answer_s", "15")
    page.check("#dnd")
    with page.expect_navigation():
        page.click("#save-forwarding")
    assert "Your forwarding was saved." in text(page)
    assert page.input_value("#no_answer") == "211"
    assert page.is_checked("#dnd")
    with live.platform.uow() as uow:
        bob = uow.users.find_by(email="bob@dupont.example")
        assert bob is not None
        saved = uow.forwarding.find(bob.id)
    assert saved is not None
    assert (saved.unconditional, saved.no_answer, saved.no_answer_s, saved.dnd) == (None, "211", 15, True)
    page.fill("#no_answer", "")  # empty: that forward is off
    page.uncheck("#dnd")
    with page.expect_navigation():
        page.click("#save-forwarding")
    with live.platform.uow() as uow:
        saved = uow.forwarding.find(bob.id)
    assert saved is not None
    assert (saved.no_answer, saved.dnd) == (None, False)
