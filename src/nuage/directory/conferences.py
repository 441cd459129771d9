"""A conference room's live participants (CFG-8), as the media plane reports them and the API
shows and controls them: who is in, since when, muted or not; a participant asked to leave
(kicked) stays listed until the media plane has let them go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_PARTICIPANTS = 200  # the media plane's bound per room (at least 50, CFG-8's brief)


class JoinRole(StrEnum):
    """What a PIN keyed at the door makes of the caller."""

    PARTICIPANT = "participant"
    MODERATOR = "moderator"


@dataclass
class ConferenceParticipant:
    """One caller in a conference room."""

    id: str  # the call's id on the media plane
    account_id: str
    room_id: str
    label: str  # the caller ID shown in the list
    joined_at: datetime
    moderator: bool = False
    muted: bool = False
    kicked: bool = False
