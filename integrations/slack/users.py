"""HubSpot owner -> Slack user: the explicit mapping first, else users.lookupByEmail, remembered for an hour."""
from __future__ import annotations

import time
from typing import Callable, Mapping, Protocol

CACHE_SECONDS = 3600.0


class UserLookup(Protocol):
    def lookup_user_by_email(self, email: str) -> str | None: ...


class SlackUserDirectory:
    """Resolves owners to Slack user ids; hits and misses are both cached in memory for `ttl` seconds.

    Lookup failures (IntegrationError) are not cached: the caller retries and the next call asks again.
    """

    def __init__(self, lookup: UserLookup, *, ttl: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self._lookup = lookup
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, str | None]] = {}    # email -> (expires_at, user id or None)

    def resolve(self, owner_id: str, owner_email: str | None, explicit: Mapping[str, str]) -> str | None:
        """The owner's Slack user id, or None when neither the mapping nor the workspace knows them."""
        mapped = explicit.get(owner_id)
        if mapped:
            return mapped
        email = (owner_email or "").strip()
        return self._lookup_cached(email) if email else None

    def _lookup_cached(self, email: str) -> str | None:
        key, now = email.lower(), self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        user_id = self._lookup.lookup_user_by_email(email)
        self._forget_expired(now)
        self._cache[key] = (now + self._ttl, user_id)
        return user_id

    def _forget_expired(self, now: float) -> None:
        for key in [key for key, (expires_at, _) in self._cache.items() if expires_at <= now]:
            del self._cache[key]
