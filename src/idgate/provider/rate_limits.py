"""Request rate limits (SECURITY.md DCR-11, RES-03): fixed windows counted in the database, so a
limit holds across every process, like the login lock-outs that share its table.

Counting every request of a busy endpoint would add a database write to each; a process instead
adds its hits in batches of 1/50 of the limit (so a window may overshoot by a batch per process,
and a process's last partial batch of a window may go uncounted). Small limits, like
registration's, count every hit. A key over its limit is refused by each process that has seen
it so, without asking the database again, until its window ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from idgate.clock import Clock
from idgate.protocol.errors import TooManyRequests
from idgate.storage.base import RateLimitRepository

_BATCHES_PER_LIMIT = 50
# Keys remembered per process before the ones whose window is over are forgotten.
_MAX_KEYS = 10_000


@dataclass(frozen=True)
class Limit:
    """At most `requests` per `window` seconds; `requests` 0 means no limit."""

    requests: int
    window: int


@dataclass
class _Window:
    ends_at: int
    counted: int  # the database's count when last asked
    pending: int = 0  # hits of this process not yet added to it


class RequestLimiter:
    def __init__(self, repository: RateLimitRepository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    async def hit(self, key: str, limit: Limit, *, description: str = "too many requests") -> None:
        """Count one request for `key`; TooManyRequests (with the seconds until its window
        ends) when the window already holds `limit.requests`."""
        if limit.requests <= 0:
            return
        now = self._clock.now()
        window = self._windows.get(key)
        if window is None or window.ends_at <= now:
            window = self._remember(key, _Window(ends_at=now + limit.window, counted=0))
        elif window.counted > limit.requests:
            raise TooManyRequests(window.ends_at - now, description)
        elif (
            window.pending + 1 < max(1, limit.requests // _BATCHES_PER_LIMIT)
            and window.counted + window.pending + 1 <= limit.requests
        ):
            window.pending += 1
            return
        # Taken before the await: hits other requests add meanwhile go into the next batch.
        hits, window.pending = window.pending + 1, 0
        counted, started_at = await self._repository.count(
            key, hits=hits, now=now, window=limit.window
        )
        window.counted, window.ends_at = counted, started_at + limit.window
        if counted > limit.requests:
            raise TooManyRequests(max(1, window.ends_at - now), description)

    def _remember(self, key: str, window: _Window) -> _Window:
        if len(self._windows) >= _MAX_KEYS:
            now = self._clock.now()
            self._windows = {k: w for k, w in self._windows.items() if w.ends_at > now}
            if len(self._windows) >= _MAX_KEYS:
                # Only batching is lost: the database still holds every count.
                self._windows.clear()
        self._windows[key] = window
        return window
