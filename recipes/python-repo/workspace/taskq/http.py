"""The one place that talks HTTP: base URL, auth header, timeouts and retries."""

import logging
import time

import requests

from .utils.retry import DEFAULT_POLICY, RetryPolicy

log = logging.getLogger(__name__)


class HttpClient:
    def __init__(self, base_url: str, token: str | None = None, policy: RetryPolicy = DEFAULT_POLICY, session=None, sleep=time.sleep, timeout_s: float = 10):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.policy = policy
        self.session = session or requests.Session()
        self.sleep = sleep
        self.timeout_s = timeout_s

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        attempt = 1
        while True:
            try:
                response = self.session.request(method, f"{self.base_url}{path}", headers=headers, timeout=self.timeout_s, **kwargs)
                status = response.status_code
            except requests.ConnectionError:
                response, status = None, None
            if not self.policy.should_retry(attempt, status):
                break
            log.debug("%s %s: attempt %d got %s, retrying", method, path, attempt, status)
            self.sleep(self.policy.delay(attempt))
            attempt += 1
        if response is None:
            raise requests.ConnectionError(f"{method} {path}: no connection after {attempt} attempts")
        response.raise_for_status()
        return response

    def get_json(self, path: str):
        return self.request("GET", path).json()

    def post_json(self, path: str, body):
        return self.request("POST", path, json=body).json()
