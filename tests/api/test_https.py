"""``nuage serve`` over HTTPS with the certificate and key of the settings (``http.tls``), and the
security headers every answer carries (issue #21)."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.support import Api
from netports import free_port
from waiting import wait_until

NUAGE = str(Path(sys.executable).parent / "nuage")


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def _env(data: Path, cert: Path, key: Path) -> dict[str, str]:
    return {
        **os.environ,
        "NUAGE_SECRET_KEY": "test-signing-key-0123456789",
        "NUAGE_DATA_DIR": str(data),
        "NUAGE_HTTP__TLS__CERTIFICATE": str(cert),
        "NUAGE_HTTP__TLS__KEY": str(key),
        "NUAGE_JANUS__EMBEDDED": "false",  # no Janus to start and stop: HTTPS is what is checked
    }


@pytest.fixture
def https_server(tmp_path: Path, demo_template: Path) -> Iterator[tuple[str, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (scripts/install --test installs it)")
    cert, key = _certificate(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(demo_template, data / "nuage.db")
    port = free_port()
    process = subprocess.Popen(
        [NUAGE, "serve", "--no-sip", "--http", f"127.0.0.1:{port}"],
        env=_env(data, cert, key),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"https://127.0.0.1:{port}"
    trust = ssl.create_default_context(cafile=str(cert))
    # one client for every probe: ``httpx.get`` makes a client (and its TLS context) each time,
    # CPU the starting node needs
    probe = httpx.Client(verify=trust, timeout=1)

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "exited")
        try:
            return probe.get(f"{base}/health").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        try:
            wait_until(up, timeout=60, interval=0.1, what="the HTTPS web node")
        finally:
            probe.close()
        yield base, cert
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def test_serve_speaks_https_with_the_configured_certificate_and_sends_hsts(
    https_server: tuple[str, Path],
) -> None:
    base, cert = https_server
    trust = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(verify=trust, timeout=5) as client:
        for path in ("/health", "/", "/api/v1/users"):
            answer = client.get(base + path)
            assert answer.headers["strict-transport-security"].startswith("max-age="), path
            assert answer.headers["x-content-type-options"] == "nosniff", path
        token = client.post(
            f"{base}/api/v1/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "demo-dupont"}
            | {"client_secret": "demo-dupont-secret-2026"},
        )
        assert token.status_code == 200
        login = client.get(base + "/login")  # the portal's session cookie is Secure over HTTPS
        cookie = login.headers["set-cookie"]
        assert cookie.startswith("nuage_session=")
        assert "; Secure" in cookie
        assert "; HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()
    with pytest.raises(httpx.HTTPError):  # plain HTTP is not answered on the HTTPS port
        httpx.get(base.replace("https://", "http://") + "/health", timeout=2)


def test_serve_refuses_a_missing_key_file_in_one_line(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, _ = _certificate(tmp_path)
    env = _env(tmp_path / "data", cert, tmp_path / "absent.pem")
    done = subprocess.run(
        [NUAGE, "serve", "--no-sip", "--http", f"127.0.0.1:{free_port()}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "http.tls.key" in done.stderr
    assert "Traceback" not in done.stderr


async def test_every_answer_carries_the_security_headers(api: Api) -> None:
    answers = [
        await api.http.get("/users"),  # 401
        await api.get("demo-dupont", "/users"),
        await api.http.post("/oauth/token", data={}),
        await api.http.get("http://nuage.test/health"),
        await api.http.get("http://nuage.test/login"),
        await api.http.get("http://nuage.test/nothing-here"),
        await api.get("demo-dupont", "/users/usr_none"),
    ]
    for answer in answers:
        where = f"{answer.request.method} {answer.request.url} {answer.status_code}"
        assert answer.headers["x-content-type-options"] == "nosniff", where
        assert answer.headers["referrer-policy"] == "no-referrer", where
        assert answer.headers["x-frame-options"] == "DENY", where
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], where
        assert "strict-transport-security" not in answer.headers, where  # plain HTTP here
    page = answers[4]
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy  # the portal's own script file only: no inline, no eval
    assert "unsafe-inline" not in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in page.text  # the page's own style block, and nothing else
    assert ' style="' not in page.text
    assert "form-action 'self'" in policy  # the portal's forms post to this origin, nowhere else
    again = await api.http.get("http://nuage.test/")
    assert again.headers["content-security-policy"] != policy  # a nonce per answer


async def test_a_405_names_every_method_the_path_answers(api: Api) -> None:
    cases = {
        ("DELETE", "/users"): "GET, POST",
        ("POST", "/users/usr_x"): "DELETE, GET, PATCH",
        ("GET", "/users/usr_x/password"): "PUT",
        ("PUT", "/me"): "GET",
        ("GET", "/oauth/token"): "POST",
    }
    for (method, path), allow in cases.items():
        answer = await api.http.request(method, path, headers=await api.headers("demo-dupont"))
        assert answer.status_code == 405, (method, path)
        assert answer.headers["allow"] == allow, (method, path)
        assert answer.json()["error_id"] == "method-not-allowed"
        assert answer.json()["details"]["allowed"] == allow.split(", ")
