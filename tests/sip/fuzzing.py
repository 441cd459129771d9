"""A seeded mutation fuzzer of SIP messages (shared by the fuzz test and bench/sip/fuzz.py)."""

from __future__ import annotations

import random

NUMBERS = ("\u00b2", "\u0661", "9" * 5000, "-1", "4294967296", "99999", "", "0x10", " ", "1e3")
SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
JUNK = (";", ";;", '"', "<", ">", ",", "\\", "%", "%00", "[", "]", ":", "@", "=", "\r\n ", "\x00", "\u00e9")


def templates(port: int, phone_port: int) -> list[bytes]:
    """Well-formed requests to a server on ``port`` from a phone on ``phone_port``."""
    out = []
    for n, (method, uri, extra) in enumerate(
        [
            (
                "REGISTER",
                f"sip:127.0.0.1:{port}",
                'Expires: 300\r\nAuthorization: Digest username="alice", '
                'realm="nuage.local", nonce="abc", uri="sip:x", response="00", '
                'qop=auth, nc=00000001, cnonce="c"',
            ),
            ("INVITE", f"sip:200@127.0.0.1:{port}", "Content-Type: application/sdp\r\nSession-Expires: 1800"),
            ("OPTIONS", f"sip:127.0.0.1:{port}", "Accept: application/sdp"),
            ("BYE", f"sip:200@127.0.0.1:{port}", "Route: <sip:127.0.0.1;lr>"),
        ]
    ):
        body = SDP if method == "INVITE" else ""
        text = (
            f"{method} {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{phone_port};branch=z9hG4bKfz{n};rport\r\n"
            "Max-Forwards: 70\r\n"
            f'From: "Al" <sip:alice@nuage.local>;tag=f{n}\r\n'
            "To: <sip:alice@nuage.local>\r\n"
            f"Call-ID: fuzz-{n}\r\n"
            f"CSeq: {n + 1} {method}\r\n"
            f"Contact: <sip:alice@127.0.0.1:{phone_port};transport=udp>;expires=60\r\n"
            f"{extra}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        out.append(text.encode())
    return out


def mutate(data: bytes, rng: random.Random, serial: int) -> bytes:
    """One to three random mutations of ``data``; the branch and Call-ID made unique by ``serial``."""
    text = data.decode("utf-8", errors="replace")
    text = text.replace("branch=z9hG4bKfz", f"branch=z9hG4bKfz{serial}x").replace(
        "Call-ID: fuzz-", f"Call-ID: fuzz{serial}-"
    )
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(8)
        at = rng.randrange(len(text))
        if kind == 0:  # a number replaced by an odd one
            digits = [i for i, c in enumerate(text) if c.isdigit()]
            if digits:
                i = rng.choice(digits)
                text = text[:i] + rng.choice(NUMBERS) + text[i + 1 :]
        elif kind == 1:  # junk inserted
            text = text[:at] + rng.choice(JUNK) + text[at:]
        elif kind == 2:  # a span deleted
            text = text[:at] + text[at + rng.randint(1, 12) :]
        elif kind == 3:  # a line duplicated or dropped
            lines = text.split("\r\n")
            if len(lines) < 4:
                continue
            i = rng.randrange(1, len(lines) - 2)
            if rng.random() < 0.5:
                lines.insert(i, lines[i])
            else:
                del lines[i]
            text = "\r\n".join(lines)
        elif kind == 4:  # a byte flipped
            text = text[:at] + chr(rng.randrange(32, 0x250)) + text[at + 1 :]
        elif kind == 5:  # truncated
            text = text[: max(16, at)]
        elif kind == 6:  # parameters emptied
            text = text.replace(";", ";;", 1) if rng.random() < 0.5 else text.replace("=", "= ", 1)
        else:  # a header value made huge
            text = text[:at] + "x" * rng.choice((100, 2000, 70000)) + text[at:]
    return text.encode("utf-8", errors="replace")
