"""The HTTP retry policy used by taskq.http.HttpClient."""

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_s: float = 0.5
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def should_retry(self, attempt: int, status: int | None) -> bool:
        """attempt counts from 1; status None means the connection failed."""
        if attempt > self.max_attempts:
            return False
        return status is None or status in self.retry_statuses

    def delay(self, attempt: int) -> float:
        return self.backoff_s * 2 ** (attempt - 1)


DEFAULT_POLICY = RetryPolicy()
