"""The Web Meeting gateway port (MTG-1) over Janus's HTTP API (Debian ``janus``: its video room for
the video, its audio bridge for the sound).

Owns ``JanusClient`` (the Janus API: create a session, attach a plugin, send a plugin message, keep
the session alive, destroy it; one transaction id per request, every request bounded by a timeout)
and ``JanusGateway``, which maps ``MeetingGateway`` onto the synchronous requests of the video room
(``create``, ``edit``, ``destroy``, ``listparticipants``, ``kick``) and of the audio bridge room of
the same number, which mixes the meeting's sound: browsers send and hear their audio there (joining
with their video room id), phones join it as plain RTP participants (``janus_dialin``); the host's
mute is the audio bridge's ``mute``. Each gateway call
opens a short session and destroys it, so nothing in Nuage depends on a session surviving Janus's
session timeout; ``JanusSession.keepalive`` is there for the handles that must live longer.

Room creation needs the video room's ``admin_key`` (set in ``janus.plugin.videoroom.jcfg``), so a
browser that can reach Janus cannot create rooms of its own; joining a room needs its PIN.
"""

from __future__ import annotations

import contextlib
import secrets
from types import TracebackType
from typing import Any, Self

import httpx

from nuage.errors import Conflict, UpstreamUnavailable
from nuage.services.meetings.ports import GatewayHealth, Participant

VIDEOROOM = "janus.plugin.videoroom"
AUDIOBRIDGE = "janus.plugin.audiobridge"
_NO_SUCH_ROOM = 426  # JANUS_VIDEOROOM_ERROR_NO_SUCH_ROOM
_NO_SUCH_FEED = 428  # JANUS_VIDEOROOM_ERROR_NO_SUCH_FEED
_ROOM_EXISTS = 427  # JANUS_VIDEOROOM_ERROR_ROOM_EXISTS
_AB_NO_SUCH_ROOM = 485  # JANUS_AUDIOBRIDGE_ERROR_NO_SUCH_ROOM
_AB_ROOM_EXISTS = 486  # JANUS_AUDIOBRIDGE_ERROR_ROOM_EXISTS
_AB_NO_SUCH_USER = 492  # "no such user" in Janus 1.1's audio bridge


class JanusError(UpstreamUnavailable):
    """Janus answered with an error (``code`` is Janus's or the plugin's error code)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__("janus", message, code=code)
        self.code = code


class JanusClient:
    """The Janus API over HTTP: ``POST {url}``, ``{url}/{session}``, ``{url}/{session}/{handle}``."""

    def __init__(self, url: str, *, timeout_s: float = 5.0, api_secret: str | None = None) -> None:
        self.url = url.rstrip("/")
        self._api_secret = api_secret
        self._http = httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()

    def request(self, path: str, janus: str, **fields: Any) -> dict[str, Any]:
        """Send one Janus request; return its answer, or raise ``JanusError``."""
        body: dict[str, Any] = {"janus": janus, "transaction": secrets.token_hex(8), **fields}
        if self._api_secret:
            body["apisecret"] = self._api_secret
        try:
            answer = self._http.post(f"{self.url}{path}", json=body)
            answer.raise_for_status()
            found: dict[str, Any] = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            raise JanusError(f"Janus at {self.url} did not answer ({type(error).__name__})") from error
        if found.get("janus") == "error":
            refusal = found.get("error", {})
            raise JanusError(f"Janus refused {janus}: {refusal.get('reason', '?')}", refusal.get("code"))
        return found

    def info(self) -> dict[str, Any]:
        """The server's ``/info`` (version, transports, plugins)."""
        try:
            answer = self._http.get(f"{self.url}/info")
            answer.raise_for_status()
            found: dict[str, Any] = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            raise JanusError(f"Janus at {self.url} did not answer ({type(error).__name__})") from error
        return found

    def session(self) -> JanusSession:
        """A new session (destroyed when the ``with`` block ends)."""
        created = self.request("", "create")
        return JanusSession(self, int(created["data"]["id"]))


class JanusSession:
    """One Janus session and the plugin handles attached to it."""

    def __init__(self, client: JanusClient, session_id: int) -> None:
        self.client = client
        self.session_id = session_id

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.destroy()

    def attach(self, plugin: str) -> int:
        """Attach ``plugin``; return the handle id."""
        attached = self.client.request(f"/{self.session_id}", "attach", plugin=plugin)
        return int(attached["data"]["id"])

    def message(self, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request; return the plugin's data, or raise on the plugin's error."""
        answer = self.client.request(f"/{self.session_id}/{handle}", "message", body=body)
        data: dict[str, Any] = answer.get("plugindata", {}).get("data", {})
        if "error_code" in data:
            raise JanusError(
                f"Janus {body.get('request')}: {data.get('error', '?')}", int(data["error_code"])
            )
        return data

    def keepalive(self) -> None:
        """Keep the session alive past Janus's session timeout."""
        self.client.request(f"/{self.session_id}", "keepalive")

    def destroy(self) -> None:
        """End the session (its handles are detached by Janus)."""
        with contextlib.suppress(JanusError):  # an expired session is already gone
            self.client.request(f"/{self.session_id}", "destroy")


class JanusGateway:
    """``MeetingGateway`` on Janus's video room (MTG-1)."""

    def __init__(self, client: JanusClient, *, admin_key: str | None = None) -> None:
        self._client = client
        self._admin_key = admin_key

    def _videoroom(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._client.session() as session:
            return session.message(session.attach(VIDEOROOM), body)

    def _audiobridge(self, body: dict[str, Any], *, missing: int | None = None) -> dict[str, Any]:
        """An audio bridge request; an error coded ``missing`` (nothing to act on) is no error."""
        try:
            with self._client.session() as session:
                return session.message(session.attach(AUDIOBRIDGE), body)
        except JanusError as error:
            if missing is None or error.code != missing:
                raise
            return {}

    def _create_audio(self, room: int, *, description: str, pin: str, secret: str) -> None:
        body: dict[str, Any] = {
            "request": "create",
            "room": room,
            "description": description[:100],
            "pin": pin,
            "secret": secret,
            "is_private": True,
            "sampling_rate": 16000,
            "allow_rtp_participants": True,  # phones, bridged by Nuage's media plane
        }
        if self._admin_key:
            body["admin_key"] = self._admin_key
        self._audiobridge(body, missing=_AB_ROOM_EXISTS)

    def create_room(self, room: int, *, description: str, pin: str, secret: str, publishers: int) -> None:
        body: dict[str, Any] = {
            "request": "create",
            "room": room,
            "description": description[:100],
            "pin": pin,
            "secret": secret,
            "publishers": publishers,
            "is_private": True,
            "audiocodec": "opus",
            "videocodec": "vp8",
            "audiolevel_event": False,
            "notify_joining": True,
        }
        if self._admin_key:
            body["admin_key"] = self._admin_key
        self._create_audio(room, description=description, pin=pin, secret=secret)
        try:
            self._videoroom(body)
        except JanusError as error:
            if error.code != _ROOM_EXISTS:
                raise
            self.set_pin(room, secret=secret, pin=pin)

    def destroy_room(self, room: int, *, secret: str) -> None:
        self._audiobridge({"request": "destroy", "room": room, "secret": secret}, missing=_AB_NO_SUCH_ROOM)
        try:
            self._videoroom({"request": "destroy", "room": room, "secret": secret})
        except JanusError as error:
            if error.code != _NO_SUCH_ROOM:
                raise

    def set_pin(self, room: int, *, secret: str, pin: str) -> None:
        self._videoroom({"request": "edit", "room": room, "secret": secret, "new_pin": pin})
        edit = {"request": "edit", "room": room, "secret": secret, "new_pin": pin}
        self._audiobridge(edit, missing=_AB_NO_SUCH_ROOM)

    def participants(self, room: int) -> list[Participant]:
        try:
            found = self._videoroom({"request": "listparticipants", "room": room})
        except JanusError as error:
            if error.code == _NO_SUCH_ROOM:
                return []
            raise
        people = [
            Participant(int(item["id"]), str(item.get("display", "")), bool(item.get("publisher", False)))
            for item in found.get("participants", [])
        ]
        seen = {person.participant_id for person in people}
        audio = self._audiobridge({"request": "listparticipants", "room": room}, missing=_AB_NO_SUCH_ROOM)
        people += [  # phones: in the audio bridge only
            Participant(int(item["id"]), str(item.get("display", "")), True)
            for item in audio.get("participants", [])
            if int(item["id"]) not in seen
        ]
        return people

    def kick(self, room: int, participant_id: int, *, secret: str) -> None:
        kick = {"request": "kick", "room": room, "secret": secret, "id": participant_id}
        in_audio = self._audiobridge(kick, missing=_AB_NO_SUCH_USER) != {}
        try:
            self._videoroom(kick)
        except JanusError as error:
            if error.code == _NO_SUCH_FEED and in_audio:
                return  # a phone: in the audio bridge only
            if error.code == _NO_SUCH_FEED:
                raise Conflict(
                    "MTG-1: no such participant in the room", participant_id=participant_id
                ) from error
            raise

    def mute(self, room: int, participant_id: int, *, secret: str, muted: bool) -> None:
        # The sound is the audio bridge's: browsers join it with their video room id, phones too.
        body = {
            "request": "mute" if muted else "unmute",
            "room": room,
            "secret": secret,
            "id": participant_id,
        }
        try:
            self._audiobridge(body)
        except JanusError as error:
            if error.code == _AB_NO_SUCH_USER:
                raise Conflict(
                    "MTG-1: no such participant in the room", participant_id=participant_id
                ) from error
            raise

    def health(self) -> GatewayHealth:
        try:
            info = self._client.info()
        except JanusError as error:
            return GatewayHealth(self._client.url, False, error=str(error))
        return GatewayHealth(
            self._client.url,
            True,
            version=str(info.get("version_string", "")),
            plugins=tuple(sorted(info.get("plugins", {}))),
        )
