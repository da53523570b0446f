"""Rate limits on failed authentication, per client address and per presented key: after
``limit`` failures within a minute, every request from that address (or with that key)
answers 429 until the oldest failure is a minute old. Guessing keys is hopeless anyway
(256 random bits); this keeps a leaked-and-revoked key or a broken client from hammering
the database, and shows up in the answers rather than in the load.

The counts live in the API process (each ``cinegen serve`` process counts its own).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

from cinegen.api.errors import ApiError

WINDOW_S = 60.0
SWEEP_ABOVE = 10_000  # tracked addresses and keys before old ones are forgotten


class AuthFailures:
    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.clock = limit, clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, client: str, secret: str) -> None:
        """429 if this address or this key has failed too often in the last minute."""
        now = self.clock()
        with self._lock:
            for who, what in ((f"ip:{client}", "this address"), (_key(secret), "this key")):
                if not who or who not in self._seen:  # (a lookup must not add an entry)
                    continue
                times = self._recent(who, now)
                if len(times) >= self.limit:
                    wait = max(1, math.ceil(times[0] + WINDOW_S - now))
                    raise ApiError(
                        429,
                        f"{len(times)} failed authentications from {what} in the last "
                        f"minute; wait {wait} s and check the key",
                        code="too_many_auth_failures",
                        headers={"Retry-After": str(wait)},
                    )

    def failed(self, client: str, secret: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._seen) > SWEEP_ABOVE:  # many passers-by: forget the quiet ones
                for who in [w for w, times in self._seen.items() if not self._recent(w, now)]:
                    del self._seen[who]
            for who in (f"ip:{client}", _key(secret)):
                if who:
                    self._recent(who, now).append(now)

    def _recent(self, who: str, now: float) -> deque[float]:
        times = self._seen[who]
        while times and times[0] <= now - WINDOW_S:
            times.popleft()
        return times


def _key(secret: str) -> str:
    """A presented key's bucket (its hash: secrets are never kept), or '' for none."""
    return "key:" + hashlib.sha256(secret.encode()).hexdigest()[:32] if secret else ""
