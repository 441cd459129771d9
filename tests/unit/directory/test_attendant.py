"""The auto-attendant's state machine: keys, silences, wrong keys, menus, dial-by-extension."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nuage.directory.attendant import (
    INTER_DIGIT_MS,
    MAX_MENU_HOPS,
    Action,
    Attendant,
    Hangup,
    Phase,
    Play,
    StartTimer,
    StopPlaying,
    Transfer,
)
from nuage.directory.destinations import Destination, DestinationKind
from nuage.directory.menus import Menu, Prompt

T0 = datetime(2026, 1, 1, tzinfo=UTC)

MAIN = Menu(
    "ivr_main",
    "acc",
    "Main",
    T0,
    prompt="sound:snd_welcome",
    options={
        "1": "user:usr_sales",
        "2": "menu:ivr_support",
        "3": "dial_by_extension",
        "4": "external:+3222555123",
        "5": "voicemail:usr_boss",
        "9": "hangup",
    },
    language="fr",
    max_attempts=3,
)
SUPPORT = Menu(
    "ivr_support",
    "acc",
    "Support",
    T0,
    options={"1": "group:grp_support", "0": "menu:ivr_main"},
    language="nl",
)
LOOP = Menu("ivr_loop", "acc", "Loop", T0, options={"1": "menu:ivr_loop"})
MENUS = {m.id: m for m in (MAIN, SUPPORT, LOOP)}
EXTENSIONS = {"201", "1234"}


def attendant(menu: Menu = MAIN) -> Attendant:
    return Attendant(menu, MENUS, EXTENSIONS.__contains__)


def timer(actions: list[Action]) -> StartTimer:
    found = [a for a in actions if isinstance(a, StartTimer)]
    assert len(found) == 1, actions
    return found[0]


def played(actions: list[Action]) -> list[str]:
    return [str(p) for a in actions if isinstance(a, Play) for p in a.prompts]


def test_the_prompt_plays_then_a_key_transfers() -> None:
    ivr = attendant()
    assert ivr.start() == [Play((Prompt(sound_file_id="snd_welcome"),), "fr")]
    assert timer(ivr.prompt_finished()).ms == MAIN.timeout_ms
    assert ivr.digit("1") == [Transfer(Destination(DestinationKind.USER, "usr_sales"))]
    assert ivr.phase is Phase.DONE
    assert ivr.digit("2") == []


def test_a_key_during_the_prompt_stops_it() -> None:
    ivr = attendant()
    ivr.start()
    assert ivr.digit("4") == [StopPlaying(), Transfer(Destination(DestinationKind.EXTERNAL, "+3222555123"))]


@pytest.mark.parametrize(
    ("key", "kind", "target"),
    [("1", "user", "usr_sales"), ("4", "external", "+3222555123"), ("5", "voicemail", "usr_boss")],
)
def test_each_destination_kind(key: str, kind: str, target: str) -> None:
    ivr = attendant()
    ivr.start()
    ivr.prompt_finished()
    assert ivr.digit(key) == [Transfer(Destination(DestinationKind(kind), target))]


def test_another_menu_plays_its_prompt_in_its_language() -> None:
    ivr = attendant()
    ivr.start()
    ivr.prompt_finished()
    assert ivr.digit("2") == [Play((Prompt(default="welcome"),), "nl")]
    ivr.prompt_finished()
    assert ivr.digit("1") == [Transfer(Destination(DestinationKind.GROUP, "grp_support"))]


def test_a_wrong_key_plays_invalid_then_the_menu_again() -> None:
    ivr = attendant()
    ivr.start()
    ivr.prompt_finished()
    assert played(ivr.digit("7")) == ["default:invalid", "sound:snd_welcome"]
    ivr.prompt_finished()
    assert ivr.digit("1")[0] == Transfer(Destination(DestinationKind.USER, "usr_sales"))


def test_silence_replays_and_gives_up_with_goodbye() -> None:
    ivr = attendant()
    ivr.start()
    first = timer(ivr.prompt_finished())
    assert played(ivr.timeout(first.token)) == ["default:no_input", "sound:snd_welcome"]
    second = timer(ivr.prompt_finished())
    assert ivr.timeout(first.token) == []  # a stale timer is ignored
    ivr.timeout(second.token)
    third = timer(ivr.prompt_finished())
    assert played(ivr.timeout(third.token)) == ["default:goodbye"]
    assert ivr.digit("1") == []  # too late
    assert ivr.prompt_finished() == [Hangup()]


def test_failover_destinations_after_the_last_attempt() -> None:
    menu = Menu(
        "ivr_f",
        "acc",
        "F",
        T0,
        options={"1": "user:usr_a"},
        max_attempts=1,
        timeout_destination="user:usr_operator",
        invalid_destination="voicemail:usr_operator",
    )
    ivr = attendant(menu)
    ivr.start()
    assert ivr.timeout(timer(ivr.prompt_finished()).token) == [
        Transfer(Destination(DestinationKind.USER, "usr_operator"))
    ]
    ivr = attendant(menu)
    ivr.start()
    ivr.prompt_finished()
    assert ivr.digit("8") == [Transfer(Destination(DestinationKind.VOICEMAIL, "usr_operator"))]


def test_hangup_option_says_goodbye_first() -> None:
    ivr = attendant()
    ivr.start()
    ivr.prompt_finished()
    assert played(ivr.digit("9")) == ["default:goodbye"]
    assert ivr.prompt_finished() == [Hangup()]


def test_dial_by_extension_with_hash() -> None:
    ivr = attendant()
    ivr.start()
    ivr.prompt_finished()
    assert played(ivr.digit("3")) == ["default:enter_extension"]
    ivr.prompt_finished()
    for key in "20":
        assert timer(ivr.digit(key)).ms == INTER_DIGIT_MS
    ivr.digit("1")
    assert ivr.digit("#") == [Transfer(Destination(DestinationKind.EXTENSION, "201"))]


def test_dial_by_extension_ends_on_a_pause_and_barges_in() -> None:
    ivr = attendant()
    ivr.start()
    ivr.prompt_finished()
    ivr.digit("3")
    actions = ivr.digit("1")  # while "enter the extension" still plays
    assert actions[0] == StopPlaying()
    for key in "23":
        ivr.digit(key)
    last = timer(ivr.digit("4"))
    assert ivr.timeout(last.token) == [Transfer(Destination(DestinationKind.EXTENSION, "1234"))]


def test_dial_by_extension_unknown_then_star_restarts() -> None:
    ivr = attendant()
    ivr.start()
    ivr.prompt_finished()
    ivr.digit("3")
    ivr.prompt_finished()
    for key in "999":
        ivr.digit(key)
    assert played(ivr.digit("#")) == ["default:unknown_extension", "default:enter_extension"]
    ivr.prompt_finished()
    ivr.digit("5")
    ivr.digit("*")  # start over
    for key in "201":
        ivr.digit(key)
    assert ivr.digit("#") == [Transfer(Destination(DestinationKind.EXTENSION, "201"))]


def test_menus_in_a_loop_end_the_call() -> None:
    ivr = attendant(LOOP)
    ivr.start()
    for _ in range(MAX_MENU_HOPS):
        ivr.prompt_finished()
        assert played(ivr.digit("1")) == ["default:welcome"]
    ivr.prompt_finished()
    assert played(ivr.digit("1")) == ["default:goodbye"]


def test_menu_settings_are_checked() -> None:
    for bad, message in [
        ({"options": {"10": "hangup"}}, "not a key"),
        ({"options": {"1": "menu"}}, "needs a target"),
        ({"prompt": "default:sing"}, "not a prompt"),
        ({"prompt": "http://x/y.wav"}, "not a prompt"),
        ({"language": "de"}, "language"),
        ({"timeout_ms": 10}, "timeout_ms"),
        ({"max_attempts": 0}, "max_attempts"),
    ]:
        menu = Menu("m", "acc", "M", T0, **bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=message):
            menu.check()
    MAIN.check()
