"""Field types shared by the resources' schemas: bounded, without control characters (C0, DEL, C1), like the
columns."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

_CONTROL = r"\x00-\x1f\x7f-\x9f"  # C0 (NUL included), DEL, C1
_PRINTABLE = rf"^[^{_CONTROL}]*$"


# one character that is neither a control nor a space, anywhere (``\S`` alone would take a NUL)
Name = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=200, pattern=rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"
    ),
]
# letters, digits and ._- after a letter or digit: nothing a spreadsheet would run as a formula (=+-@)
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Id = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=ID_PATTERN)]
Email = Annotated[
    str,
    StringConstraints(
        min_length=3, max_length=320, pattern=rf"^[^@\s{_CONTROL}]+@[^@\s{_CONTROL}]+\.[^@\s{_CONTROL}]+$"
    ),
]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
Color = Annotated[str, StringConstraints(pattern=r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
E164 = Annotated[str, StringConstraints(min_length=3, max_length=20, pattern=r"^\+?[0-9 ().-]{2,19}$")]
Short = Annotated[str, StringConstraints(max_length=16, pattern=_PRINTABLE)]
Street = Annotated[str, StringConstraints(max_length=200, pattern=_PRINTABLE)]
City = Annotated[str, StringConstraints(max_length=100, pattern=_PRINTABLE)]
Url = Annotated[str, StringConstraints(max_length=300, pattern=_PRINTABLE)]
Phone = Annotated[str, StringConstraints(max_length=32, pattern=_PRINTABLE)]
#: what a phone would dial: an extension, a SIP username or a number (call forwarding, fallbacks)
Dialled = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^\+?[A-Za-z0-9._-]{2,32}$")]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
MONTH_PATTERN = r"^2\d{3}-(0[1-9]|1[0-2])$"  # YYYY-MM, years 2000-2999, months 01-12
MonthText = Annotated[str, Field(pattern=MONTH_PATTERN, examples=["2026-01"])]
#: an instant in a query: ISO 8601 with its offset (a number of seconds is never read as an instant)
MOMENT_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"


def _pattern(kind: Any) -> str:
    return next(str(m.pattern) for m in kind.__metadata__ if getattr(m, "pattern", None))


#: what a person should send when a field's pattern refuses its value (the 422's message says it)
PATTERN_FORMATS: dict[str, str] = {
    MONTH_PATTERN: "a month as YYYY-MM, e.g. 2026-01",
    MOMENT_PATTERN: "an ISO 8601 date and time with its offset, e.g. 2026-01-01T00:00:00+01:00",
    _pattern(Name): "1 to 200 characters with no control characters, not only spaces",
    _pattern(Id): "letters, digits, '.', '_' or '-'",
    _pattern(Email): "an e-mail address, e.g. anne@example.be",
    _pattern(Country): "a two-letter ISO 3166 country code, e.g. BE",
    _pattern(Color): "a colour as #RGB or #RRGGBB, e.g. #0055AA",
    _pattern(E164): "a phone number, e.g. +32 2 200 12 34",
    _PRINTABLE: "text with no control characters",
    _pattern(Dialled): "an extension, a SIP username or a phone number, e.g. 201 or +3222001234",
}


class Input(BaseModel):
    """A request body: unknown fields are refused, naming the field."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    """A response body read from a domain object."""

    model_config = ConfigDict(from_attributes=True)


def changes(body: BaseModel, *required: str) -> dict[str, Any]:
    """The fields a PATCH body sets; ``null`` is dropped for fields that cannot be empty."""
    return {
        k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None or k not in required
    }
