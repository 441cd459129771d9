"""Bencode, the encoding of rtpengine's NG control protocol: integers, strings, lists and
dictionaries, decoded with bounds (depth, lengths) since a reply comes over the network."""

from __future__ import annotations

from typing import Any

Bencodable = int | str | bytes | list[Any] | dict[str, Any]


class BencodeError(ValueError):
    """Bytes that are not valid bencode."""


def bencode(value: Bencodable) -> bytes:
    """Encode ints, strings (UTF-8), bytes, lists and dicts (keys sorted)."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(item) for item in value) + b"e"
    if isinstance(value, dict):
        return b"d" + b"".join(bencode(key) + bencode(value[key]) for key in sorted(value)) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes) -> Any:
    """Decode one bencoded value filling ``data``; strings that are UTF-8 come back as str."""
    value, end = _decode(data, 0, 0)
    if end != len(data):
        raise BencodeError("trailing bytes after the bencoded value")
    return value


def _decode(data: bytes, i: int, depth: int) -> tuple[Any, int]:
    if depth > 32:
        raise BencodeError("bencode nested too deep")
    head = data[i : i + 1]
    if head == b"i":
        end = data.find(b"e", i)
        if end < 0:
            raise BencodeError("unterminated integer")
        try:
            return int(data[i + 1 : end]), end + 1
        except ValueError:
            raise BencodeError("bad integer") from None
    if head in (b"l", b"d"):
        i += 1
        items: list[Any] = []
        while data[i : i + 1] != b"e":
            if i >= len(data):
                raise BencodeError("unterminated list or dictionary")
            item, i = _decode(data, i, depth + 1)
            items.append(item)
        if head == b"l":
            return items, i + 1
        if len(items) % 2:
            raise BencodeError("dictionary with a key and no value")
        keys = [k.decode() if isinstance(k, bytes) else k for k in items[::2]]
        if not all(isinstance(k, str) for k in keys):
            raise BencodeError("dictionary key that is not a string")
        return dict(zip(keys, items[1::2], strict=True)), i + 1
    colon = data.find(b":", i)
    if colon < 0 or not data[i:colon].isdigit():
        raise BencodeError("bad string length")
    end = colon + 1 + int(data[i:colon])
    if end > len(data):
        raise BencodeError("truncated string")
    raw = data[colon + 1 : end]
    try:
        return raw.decode(), end
    except UnicodeDecodeError:
        return raw, end
