"""Authorization, Proxy-Authorization and WWW-Authenticate values: a scheme and its parameters."""

from __future__ import annotations

import re

from nuage.sip.message.headers import read_quoted

_AUTH_PARAM = re.compile(r'[ \t,]*([^=, \t]+)[ \t]*(?:=[ \t]*(?:"([^"]*)"|([^", \t][^, \t]*|)))?')


def parse_auth(value: str) -> tuple[str, dict[str, str]]:
    """Parse an Authorization/WWW-Authenticate value into (scheme, {param: value})."""
    value = value.strip()
    space = value.find(" ")
    if space < 0:
        return value, {}
    scheme, rest = value[:space], value[space + 1 :]
    if "\\" not in rest:  # no escapes (issue #22): split at the commas, else one regex per parameter
        fast = _split_params(rest)
        if fast is None:
            fast = _auth_params(rest)
        if fast is not None:
            return scheme, fast
    return scheme, _read_params(rest)


def _read_params(rest: str) -> dict[str, str]:
    """The parameters read character by character: escapes, and every oddity, as RFC 3261 §25.1's
    grammar reads them (the reference the faster readers agree with)."""
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t,":
            i += 1
        j = i
        while j < n and rest[j] not in "=, \t":
            j += 1
        name = rest[i:j].lower()
        while j < n and rest[j] in " \t":
            j += 1
        if not name:
            break
        if j >= n or rest[j] != "=":
            params[name] = ""
            i = j
            continue
        j += 1
        while j < n and rest[j] in " \t":
            j += 1
        if j < n and rest[j] == '"':
            val, j = read_quoted(rest, j)
        else:
            k = j
            while j < n and rest[j] not in ", \t":
                j += 1
            val = rest[k:j]
        params[name] = val
        i = j
    return params


def _split_params(rest: str) -> dict[str, str] | None:
    """The usual list (``name=token`` or ``name="text"``, one comma between two) read by
    splitting at its commas; None when any piece is not plainly one such parameter (a comma
    within quotes, a space within a name or a token, a quote out of place, an empty piece)."""
    params: dict[str, str] = {}
    for piece in rest.split(","):
        name, _, value = piece.partition("=")
        name = name.strip(" \t")
        if not name or " " in name or "\t" in name or '"' in name:
            return None
        value = value.strip(" \t")
        if value.startswith('"'):
            if len(value) < 2 or not value.endswith('"') or value.count('"') != 2:
                return None
            value = value[1:-1]
        elif '"' in value or " " in value or "\t" in value:
            return None
        params[name.lower()] = value
    return params


def _auth_params(rest: str) -> dict[str, str] | None:
    """``parse_auth``'s parameters read by ``_AUTH_PARAM``; None when a quoted value is not
    closed (the character loop reports it)."""
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    match = _AUTH_PARAM.match
    while i < n:
        found = match(rest, i)
        if found is None:
            break  # only separators left, or a parameter without a name: the loop stops there too
        name, quoted, plain = found.groups()
        end = found.end()
        if quoted is None and plain == "" and end < n and rest[end] == '"':
            return None  # an unterminated quoted value
        params[name.lower()] = quoted if quoted is not None else (plain or "")
        i = end
    return params
