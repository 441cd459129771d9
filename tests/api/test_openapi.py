"""API-1: the OpenAPI description is complete, and the server keeps to it (schemathesis).

Schemathesis generates requests for every operation from ``/api/v1/openapi.json`` (bounded
examples) against a real ``nuage serve``, authenticated as the operator's demo client, and
checks: no 5xx, responses that match their schemas, status codes and content types that are
documented.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.support import SECRETS, Api, openapi_description
from api.test_server import _start
from nuage.api.resources.sound_files import AUDIO_TYPES

HTTP_METHODS = ("get", "post", "put", "patch", "delete")

SHARDS = 4
"""The schemathesis run is cut into this many tests: each stays well within the per-test timeout on a
loaded machine, and the workers of a parallel run share them out."""


async def _spec(api: Api) -> dict[str, Any]:
    return await openapi_description(api)


@pytest.mark.rule("API-1")
async def test_every_operation_names_its_permission_errors_and_security(api: Api) -> None:
    spec = await _spec(api)
    assert spec["servers"] == [{"url": "/api/v1"}]
    count = 0
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            count += 1
            op = item[method]
            where = f"{method.upper()} {path}"
            assert op.get("x-permission"), where
            assert "Permission:" in op.get("description", ""), where
            assert op.get("summary"), where
            assert op.get("operationId"), where
            if path in ("/oauth/token", "/oauth/revoke"):
                assert op["security"] == []
                continue
            assert {"401", "429"} <= set(op["responses"]), where
            assert op["security"] == [{"oauth2": []}], where
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ErrorBody", where
            if "{id}" in path or "{account_id}" in path:
                assert "404" in op["responses"], where
            if method == "get" and not path.endswith(".csv"):  # an export streams, never cached
                assert "304" in op["responses"], where
    assert count >= 60
    schemes = spec["components"]["securitySchemes"]["oauth2"]["flows"]
    assert set(schemes) == {"clientCredentials", "password"}


@pytest.mark.rule("API-1")
async def test_every_resource_of_the_issue_is_described(api: Api) -> None:
    paths = set((await _spec(api))["paths"])
    for resource in (
        "partners",
        "customers",
        "orders",
        "users",
        "devices",
        "rooms",
        "numbers",
        "number-blocks",
        "virtual-faxes",
        "conference-rooms",
        "web-channels",
        "traffic-packs",
        "trunks",
        "sound-files",
        "carrier-trunks",
        "api-clients",
    ):
        assert f"/{resource}" in paths
        assert f"/{resource}/{{id}}" in paths
    for view in ("capacity", "declaration-audit", "emergency-readiness", "recording"):
        assert f"/customers/{{id}}/{view}" in paths
    assert {"/oauth/token", "/me", "/api-limits/{account_id}", "/api-usage"} <= paths


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[str]:
    """A real ``nuage serve`` (web and SIP) on a copy of the demo, for schemathesis."""
    data = tmp_path_factory.mktemp("schemathesis") / "data"
    data.mkdir()
    shutil.copy(demo_template, data / "nuage.db")
    env = {
        **os.environ,
        "NUAGE_SECRET_KEY": "test-signing-key-0123456789",
        "NUAGE_API__REDIS_KEY_PREFIX": f"nuage-test:{secrets.token_hex(6)}:",
    }
    process, base = _start(data, env, sip=True)  # every operation can answer, /sip/* included
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


@pytest.fixture(scope="session")
def operator_headers(live_server: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": "demo-operator",
        "client_secret": SECRETS["demo-operator"],
    }
    answer = httpx.post(f"{live_server}/api/v1/oauth/token", data=form)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@schemathesis.serializer(*AUDIO_TYPES)
def _audio(ctx: Any, value: Any) -> bytes:
    """Sound files are uploaded as the raw request body (CFG-12)."""
    return value if isinstance(value, bytes) else str(value).encode()


def _described(exc: BaseException) -> str:
    """What failed, with the failures inside a group: a failure Hypothesis could not reproduce
    (``FlakyFailure``) names only itself, and the request that failed is in its inner exceptions."""
    text = str(exc)[:1500]
    if isinstance(exc, BaseExceptionGroup):
        inner = "\n".join(f"  - {type(e).__name__}: {str(e)[:1500]}" for e in exc.exceptions)
        text = f"{text}\n{inner}"
    return text


@pytest.mark.slow
@pytest.mark.rule("API-1")
@pytest.mark.parametrize("shard", range(SHARDS))
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_the_server_keeps_to_its_openapi_description(
    live_server: str, operator_headers: dict[str, str], mode: str, shard: int
) -> None:
    """Every operation, bounded examples per operation: no 5xx, no schema or status violation.

    The operations are taken in ``SHARDS`` shares (every ``SHARDS``-th one), each a test of its own.
    """
    examples = int(os.environ.get("NUAGE_SCHEMATHESIS_EXAMPLES", "10"))
    # the description is built on the first request (seconds of CPU): a loaded machine may take
    # longer than the loader's default 10 s to answer it
    schema = schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json", timeout=120)
    schema.config.update(base_url=f"{live_server}/api/v1")
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    failures: list[str] = []
    operations = 0
    for index, result in enumerate(schema.get_all_operations()):
        if index % SHARDS != shard:
            continue
        operation = result.ok()
        if generation is GenerationMode.NEGATIVE and operation.path == "/oauth/token":
            continue  # a form body schemathesis cannot make invalid in a way the schema forbids
        operations += 1

        @given(case=operation.as_strategy(generation_mode=generation))
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def run(case: Any) -> None:
            # positive_data_acceptance is left out on purpose: a schema-valid request may still be
            # refused by the terms (422 term-violation), clash (409) or name an unknown id (404).
            case.call_and_validate(headers=operator_headers, excluded_checks=[positive_data_acceptance])

        try:
            run()
        except Unsatisfiable:
            continue  # nothing to make invalid (no parameters, no body) in negative mode
        except Exception as exc:  # collect every operation's failure, report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {_described(exc)}")
    assert operations >= 60 // SHARDS
    assert not failures, "\n\n".join(failures)
