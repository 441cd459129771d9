"""The call-control API of the live calls (issue #15): a blind transfer, for the operator only.

The transfer itself (the REFER-less path of ``nuage.sip.b2bua.transfer``) is proven message by
message in ``tests/sip/unit/b2bua/test_transfer.py``; here the edge: who may, what is checked."""

from __future__ import annotations

import pytest

from nuage.bootstrap import SipRuntime

from .support import Api

OPERATOR, DUPONT = "demo-operator", "demo-dupont"
PATH = "/sip/calls/{call_id}/transfer"


@pytest.mark.rule("TEN-4")
async def test_only_the_operator_may_transfer_a_live_call_and_an_unknown_call_is_not_found(api: Api) -> None:
    api.platform.settings.sip.port = 0
    runtime = SipRuntime(api.platform)
    await runtime.start()
    try:
        hidden = await api.post(DUPONT, PATH.format(call_id="c1"), json={"to": "201"})
        missing = await api.post(OPERATOR, PATH.format(call_id="c1"), json={"to": "201"})
        bad = await api.post(OPERATOR, PATH.format(call_id="c1"), json={"to": "201", "keep": "nobody"})
        odd = await api.post(OPERATOR, PATH.format(call_id="c1"), json={"to": "<sip:x@elsewhere>"})
    finally:
        await runtime.stop(grace_s=1)
    assert hidden.status_code == 404  # TEN-4: a customer learns nothing of the live calls
    assert hidden.json()["error_id"] == "not-found"
    assert missing.status_code == 404, missing.text
    assert missing.json()["details"]["kind"] == "call"
    assert bad.status_code == 422
    assert bad.json()["error_id"] == "invalid-input"
    assert odd.status_code == 422  # only an extension, a user name or a number


async def test_without_sip_in_the_process_a_transfer_names_the_missing_upstream(api: Api) -> None:
    answer = await api.post(OPERATOR, PATH.format(call_id="c1"), json={"to": "201"})
    assert answer.status_code == 503
    assert answer.json()["details"]["upstream"] == "sip"
