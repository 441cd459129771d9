"""A date in the wrong format is refused with the format a person should send instead."""

from __future__ import annotations

import pytest

from .support import Api

OPERATOR = "demo-operator"


@pytest.mark.parametrize("run_on", ["28/01/2026", "2026-1-28x", "yesterday"])
async def test_a_date_in_the_wrong_format_names_the_expected_format(api: Api, run_on: str) -> None:
    answer = await api.post(OPERATOR, "/billing/runs", json={"period": "2026-01", "run_on": run_on})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error_id"] == "invalid-input"
    assert body["details"]["field"] == "run_on"
    assert "YYYY-MM-DD" in body["message"]  # the format to send is named


async def test_a_month_in_the_wrong_format_names_the_expected_format(api: Api) -> None:
    answer = await api.post(OPERATOR, "/billing/counts", json={"month": "01/2026"})
    assert answer.status_code == 422
    assert "YYYY-MM" in answer.json()["message"]


async def test_a_country_in_the_wrong_format_names_the_expected_format(api: Api) -> None:
    answer = await api.post(OPERATOR, "/partners", json={"name": "Nord Telecom", "country": "Belgium"})
    assert answer.status_code == 422
    assert (
        answer.json()["message"]
        == "country: not in the expected format: a two-letter ISO 3166 country code, e.g. BE"
    )
