"""The audit log says what a change did to which object, read from the request it kept."""

from __future__ import annotations

import pytest

from nuage.services.security.audit_log import subject_of

USR = "usr_0123456789abcdef"
DEV = "dev_89abcdef01234567"
CUS = "cus_fedcba9876543210"


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (f"POST /accounts/{CUS}/devices", ("created", "device", None)),
        (f"POST /accounts/{CUS}/users/new", ("created", "user", None)),
        (f"POST /accounts/{CUS}/users/{USR}", ("changed", "user", USR)),
        (f"POST /accounts/{CUS}/users/{USR}/hot-desk-pin", ("changed", "user", USR)),
        (f"POST /accounts/{CUS}/devices/{DEV}/remove", ("removed", "device", DEV)),
        (f"POST /accounts/{CUS}/recording", ("changed", "customer", CUS)),
        (f"POST /my/devices/{DEV}/password", ("changed", "device", DEV)),
        (f"PATCH /api/v1/users/{USR}", ("changed", "user", USR)),
        (f"DELETE /api/v1/devices/{DEV}", ("removed", "device", DEV)),
        ("POST /api/v1/customers", ("created", "customer", None)),
        ("POST /sip/bans/lift", ("changed", None, None)),
        ("login", (None, None, None)),
        ("second-factor-enabled", (None, None, None)),
        ("GET /audit", (None, None, None)),
    ],
)
def test_a_request_names_its_verb_and_object(action: str, expected: tuple[str | None, ...]) -> None:
    assert subject_of(action) == expected
