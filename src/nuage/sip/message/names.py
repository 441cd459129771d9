"""Header names: compact forms, the usual spellings for output, which headers hold comma lists."""

from __future__ import annotations

# RFC 3261 §7.3.3 and the IANA registry: compact form -> full name.
COMPACT_FORMS = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "o": "event",
    "u": "allow-events",
    "r": "refer-to",
    "b": "referred-by",
    "x": "session-expires",
    "a": "accept-contact",
    "j": "reject-contact",
    "d": "request-disposition",
    "y": "identity",
    "n": "identity-info",
}

_DISPLAY_NAMES = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
    "sip-etag": "SIP-ETag",
    "sip-if-match": "SIP-If-Match",
    "identity-info": "Identity-Info",
}

# Headers whose values may be comma-separated lists (RFC 3261 §7.3.1). Others (auth, dates) contain commas.
LIST_HEADERS = frozenset(
    {
        "via",
        "contact",
        "route",
        "record-route",
        "allow",
        "supported",
        "require",
        "proxy-require",
        "unsupported",
        "accept",
        "accept-encoding",
        "accept-language",
        "content-encoding",
        "allow-events",
        "path",
        "service-route",
    }
)


def canonical_key(name: str) -> str:
    """The lower-case full name of a header (expands compact forms)."""
    key = name.strip().lower()
    return COMPACT_FORMS.get(key, key)


def display_name(key: str) -> str:
    """The usual spelling of a header name for output (``call-id`` -> ``Call-ID``)."""
    name = _DISPLAY_NAMES.get(key)
    if name is None:
        name = "-".join(part.capitalize() for part in key.split("-"))
        _DISPLAY_NAMES[key] = name
    return name
