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
    if "\\" not in rest:  # no escapes: one regular expression per parameter (issue #22)
        fast = _auth_params(rest)
        if fast is not None:
            return scheme, fast
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
    return scheme, params


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
