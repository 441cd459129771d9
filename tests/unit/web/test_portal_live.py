"""The live streams' parts that need no server: the events' format, the bound, the shutdown, and
the self-care permissions a user's own pages rely on."""

from __future__ import annotations

from nuage.api.permissions import granted, self_granted
from nuage.api.tokens import Claims
from nuage.web.headers import portal_policy, with_sources
from nuage.web.portal.live import SCRIPT, event
from nuage.web.portal.streams import LiveStreams


def test_an_event_carries_each_line_of_its_data_on_a_data_line() -> None:
    assert event("<tr>\r\n<td>bob</td>\n</tr>") == b"data: <tr>\ndata: <td>bob</td>\ndata: </tr>\n\n"
    assert event("", "end") == b"event: end\ndata: \n\n"


def test_streams_are_counted_bounded_and_closed() -> None:
    streams = LiveStreams(limit=2)
    assert streams.room()
    assert streams.admit()
    assert streams.admit()
    assert not streams.room()
    assert not streams.admit()  # the third waits for one to end
    streams.release()
    assert streams.admit()
    streams.close()
    assert streams.closed.is_set()
    streams.release()
    assert not streams.room()
    assert not streams.admit()  # the server stops: no new stream


def test_the_script_runs_nothing_from_strings() -> None:
    code = SCRIPT.read_text(encoding="utf-8")
    assert "EventSource" in code
    for forbidden in ("eval(", "Function(", "setTimeout(", "document.write", "import("):
        assert forbidden not in code


def test_a_user_has_the_self_care_permissions_on_its_own_things_only() -> None:
    bob = Claims("usr_bob", "user", "cus_dupont", "customer", "user", 0, 0)
    for permission in (
        "directory.devices.update",
        "directory.voicemail-messages.read",
        "directory.voicemail-messages.delete",
        "directory.voicemail-boxes.update",
    ):
        assert not granted(bob, permission)  # not on the account's, as the API's role says
        assert self_granted(bob, permission, "usr_bob")
        assert not self_granted(bob, permission, "usr_alice")
    assert not self_granted(bob, "directory.devices.delete", "usr_bob")  # removing is an administrator's


def test_a_page_that_needs_more_sources_replaces_a_directive_never_repeats_it() -> None:
    policy = portal_policy("n0nce")
    widened = with_sources(policy, "connect-src", "'self' https://gateway.example")
    assert widened.count("connect-src") == 1  # a second one would be ignored by the browser
    assert widened.endswith("connect-src 'self' https://gateway.example")
    assert "script-src 'self'" in widened
    assert "style-src 'nonce-n0nce'" in widened
