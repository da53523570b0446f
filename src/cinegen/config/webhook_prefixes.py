"""The URL prefixes webhook endpoints may lie under, as the operator writes them
(``Settings.webhook_urls`` for every account, ``cinegen admin webhooks allow`` for one).
A prefix covers itself and the paths below it, never another host."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit


def check(prefix: str) -> str:
    """``prefix`` if it is an http(s) URL with a host, else ValueError saying what one is."""
    parts = urlsplit(prefix)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{prefix!r} is not an http(s) URL with a host (e.g. https://hooks.example.com/cinegen/)"
        )
    return prefix


def covered(url: str, prefixes: Sequence[str]) -> bool:
    """Whether ``url`` is one of ``prefixes`` or lies below one."""
    return any(
        url == prefix or url.startswith(prefix if prefix.endswith("/") else prefix + "/")
        for prefix in prefixes
    )
