"""SUP-1: what may be attached to a ticket: a file (bounded, its type known from its bytes), or a
link to a call recording or a call record of the ticket's own account.

The type a sender declares is not trusted: the bytes decide (``sniff``); a file whose bytes match
no accepted type is refused, so an executable renamed ``photo.jpg`` never reaches the desk.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from nuage.errors import InvalidInput

#: SUP-1: the largest file attached to a ticket (a screenshot, a log, a short recording)
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
#: SUP-1: the most attachments one ticket holds
MAX_ATTACHMENTS_PER_TICKET = 50
MAX_FILENAME = 120


class AttachmentKind(StrEnum):
    """SUP-1: a file, or a link to a recorded call or a call record (a call attached to a ticket)."""

    FILE = "file"
    CALL_RECORDING = "call_recording"
    CALL_RECORD = "call_record"


# (magic bytes at offset 0, media type); RIFF/WAVE and ftyp are checked further in
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
    (b"PK\x03\x04", "application/zip"),  # also .docx, .xlsx, .odt
)


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(ord(c) < 32 and c not in "\t\r\n\f" for c in text)


def sniff(data: bytes) -> str:
    """SUP-1: the media type the bytes are, among the accepted ones; refused when none matches."""
    for magic, media in _MAGIC:
        if data.startswith(magic):
            return media
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    if data[:2] == b"\xff\xfb":
        return "audio/mpeg"
    if data and _is_text(data):
        return "text/plain"
    raise InvalidInput(
        "file", "Attach a PDF, an image, a sound, a ZIP or a text file (this file's contents are not one)"
    )


def check_size(size: int) -> None:
    """SUP-1: a file attached to a ticket is 1 byte to ``MAX_ATTACHMENT_BYTES``."""
    if size <= 0:
        raise InvalidInput("file", "The file is empty")
    if size > MAX_ATTACHMENT_BYTES:
        raise InvalidInput("file", f"A file attached to a ticket is at most {MAX_ATTACHMENT_BYTES} bytes")


_UNSAFE = re.compile(r"[^\w.\- ()+,]")


def safe_filename(name: str | None, media: str) -> str:
    """A file name fit to store and to offer for download: no path, no control character."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE.sub("_", base).strip(" .")[:MAX_FILENAME]
    if not base:
        base = "attachment." + media.rsplit("/", 1)[-1]
    return base
