"""Zero-touch provisioning of the desk phones the operator supplies (HW-1), fetched over HTTPS from
``nuage serve`` as a phone does: by MAC, with the phone's own credential in the URL, generated from
the device and user records; a wrong credential is 401, another phone's or tenant's MAC 404."""

from __future__ import annotations

import ssl
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from api.test_https import https_server  # noqa: F401 (the HTTPS web node fixture)

SECRETS = {"demo-dupont": "demo-dupont-secret-2026", "demo-peeters": "demo-peeters-secret-2026"}


def _client(cert: Path) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=str(cert)), timeout=10)


def _headers(client: httpx.Client, base: str, who: str) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": who, "client_secret": SECRETS[who]}
    token = client.post(f"{base}/api/v1/oauth/token", data=form).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _phone(client: httpx.Client, base: str, who: str, mac: str, label: str, user_id: str | None) -> str:
    body = {"kind": "desk_phone", "label": label, "mac_address": mac, "user_id": user_id}
    made = client.post(f"{base}/api/v1/devices", json=body, headers=_headers(client, base, who))
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _user(client: httpx.Client, base: str, who: str) -> tuple[str, str]:
    users = client.get(f"{base}/api/v1/users", params={"limit": 100}, headers=_headers(client, base, who))
    first = next(u for u in users.json()["items"] if not u.get("no_service"))
    return str(first["id"]), str(first["name"])


@pytest.mark.rule("HW-1")
@pytest.mark.rule("TEN-4")
def test_a_new_phone_fetches_its_own_configuration_by_mac_over_https(
    https_server: tuple[str, Path],  # noqa: F811
) -> None:
    base, cert = https_server
    with _client(cert) as client:
        admin = _headers(client, base, "demo-dupont")
        user_id, user_name = _user(client, base, "demo-dupont")
        yealink = _phone(client, base, "demo-dupont", "80:5E:C0:12:34:56", "Reception", user_id)
        snom = _phone(client, base, "demo-dupont", "00-04-13-AA-BB-CC", "Workshop", user_id)
        peeters_phone = _phone(client, base, "demo-peeters", "80:5E:C0:99:88:77", "Shop", None)

        issued = client.post(f"{base}/api/v1/devices/{yealink}/provisioning", headers=admin)
        assert issued.status_code == 201, issued.text
        out = issued.json()
        assert (out["vendor"], out["filename"]) == ("yealink", "805ec0123456.cfg")
        device = client.get(f"{base}/api/v1/devices/{yealink}", headers=admin).json()

        # the phone: no API token, only its provisioning URL, asking for its file by MAC
        phone = {"User-Agent": "Yealink SIP-T46U 108.86.0.45 80:5e:c0:12:34:56"}
        config = client.get(f"{base}{out['url']}{out['filename']}", headers=phone)
        assert config.status_code == 200, config.text
        text = config.text
        assert f"account.1.user_name = {device['sip_username']}" in text
        assert f"account.1.display_name = {user_name}" in text
        assert "account.1.password = " in text
        assert "lang.gui = French" in text  # Dupont's users speak French
        assert config.headers["cache-control"] == "no-store"

        snom_out = client.post(f"{base}/api/v1/devices/{snom}/provisioning", headers=admin).json()
        assert snom_out["filename"] == "snom-000413AABBCC.xml"
        xml = client.get(f"{base}{snom_out['url']}{snom_out['filename']}")
        assert xml.status_code == 200
        settings = ElementTree.fromstring(xml.content).find("phone-settings")
        assert settings is not None
        assert settings.findtext("user_realname") == user_name

        # a wrong credential is 401; the right one asking for another phone's MAC is 404
        assert client.get(f"{base}/provisioning/not-a-token/805ec0123456.cfg").status_code == 401
        assert client.get(f"{base}{out['url']}snom-000413AABBCC.xml").status_code == 404
        peeters = _headers(client, base, "demo-peeters")
        other = client.post(f"{base}/api/v1/devices/{peeters_phone}/provisioning", headers=peeters).json()
        assert client.get(f"{base}{other['url']}805ec0123456.cfg").status_code == 404  # Dupont's MAC
        assert (
            client.post(f"{base}/api/v1/devices/{yealink}/provisioning", headers=peeters).status_code == 404
        )

        # issuing again replaces the credential: the old URL stops working
        again = client.post(f"{base}/api/v1/devices/{yealink}/provisioning", headers=admin).json()
        assert client.get(f"{base}{out['url']}{out['filename']}").status_code == 401
        assert client.get(f"{base}{again['url']}{again['filename']}").status_code == 200

        # a phone that is not one of the approved terminals gets no credential (HW-1)
        unknown = _phone(client, base, "demo-dupont", "00:1A:2B:3C:4D:5E", "Own phone", user_id)
        refused = client.post(f"{base}/api/v1/devices/{unknown}/provisioning", headers=admin)
        assert refused.status_code == 422
        assert refused.json()["details"]["rule_id"] == "HW-1"
