"""Rate limits on failed authentication: per client address and per presented key."""

from __future__ import annotations

import pytest

from cinegen.api.auth_failures import AuthFailures
from cinegen.api.errors import ApiError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_too_many_failures_make_an_address_or_a_key_wait_a_minute():
    clock = Clock()
    failures = AuthFailures(limit=3, clock=clock)
    for _ in range(3):
        failures.check("10.0.0.1", "cg-wrong")
        failures.failed("10.0.0.1", "cg-wrong")
    with pytest.raises(ApiError) as caught:  # this address, even with another key
        failures.check("10.0.0.1", "cg-right")
    assert caught.value.status == 429 and caught.value.code == "too_many_auth_failures"
    assert caught.value.headers["Retry-After"] == "60" and "this address" in caught.value.message
    with pytest.raises(ApiError) as caught:  # this key, even from elsewhere
        failures.check("10.0.0.2", "cg-wrong")
    assert "this key" in caught.value.message
    failures.check("10.0.0.2", "cg-right")  # anyone else goes on
    clock.now += 60.5
    failures.check("10.0.0.1", "cg-wrong")  # a minute later, it may try again


def test_the_server_answers_429_after_repeated_bad_keys(service, monkeypatch):
    import httpx

    limit = service.settings.max_auth_failures_per_minute
    good = service.key("good")
    for _ in range(limit):
        bad = httpx.get(f"{service.url}/v1/videos", headers={"Authorization": "Bearer cg-no"})
        assert bad.status_code == 401
    blocked = httpx.get(f"{service.url}/v1/videos", headers={"Authorization": f"Bearer {good}"})
    assert (
        blocked.status_code == 429 and blocked.json()["error"]["code"] == "too_many_auth_failures"
    )
    assert int(blocked.headers["retry-after"]) > 0


def test_behind_a_trusted_proxy_each_client_is_counted_apart(service):
    """The test client is on loopback, a trusted proxy by default: the address its
    X-Forwarded-For names is the one whose failures count."""
    import httpx

    limit = service.settings.max_auth_failures_per_minute
    good = service.key("proxied")

    def get(client: str, secret: str) -> int:
        headers = {"Authorization": f"Bearer {secret}", "X-Forwarded-For": client}
        return httpx.get(f"{service.url}/v1/videos", headers=headers).status_code

    for i in range(limit):
        assert get("203.0.113.7", f"cg-wrong-{i}") == 401
    assert get("203.0.113.7", good) == 429  # this client waits
    assert get("203.0.113.8", good) == 200  # its neighbour behind the same proxy does not


def test_trusted_proxies_must_be_addresses_or_ranges():
    from cinegen.config import Settings

    proxies = Settings(trusted_proxies=["10.0.0.5/8", "::1", "192.168.1.7"]).trusted_proxies
    assert proxies == ["10.0.0.0/8", "::1", "192.168.1.7"]  # as uvicorn matches them
    assert Settings(trusted_proxies=["*"]).trusted_proxies == ["*"]
    with pytest.raises(ValueError, match="give it alone"):
        Settings(trusted_proxies=["10.0.0.1", "*"])
    with pytest.raises(ValueError, match=r"'proxy\.local' is not an IP address or CIDR range"):
        Settings(trusted_proxies=["proxy.local"])
