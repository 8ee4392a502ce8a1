import pytest
import requests

from taskq.http import HttpClient
from taskq.utils.retry import RetryPolicy


class FakeResponse:
    def __init__(self, status, body=None):
        self.status_code = status
        self.body = body

    def json(self):
        return self.body

    def raise_for_status(self):
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code}")


class FakeSession:
    """Answers with the given statuses in order and records each request."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        return self.responses.pop(0)


def test_retries_until_success():
    session = FakeSession(FakeResponse(503), FakeResponse(200, {"ok": True}))
    client = HttpClient("https://api.test", session=session, sleep=lambda s: None)
    assert client.get_json("/tasks") == {"ok": True}
    assert len(session.calls) == 2


def test_sends_the_token():
    session = FakeSession(FakeResponse(200, []))
    HttpClient("https://api.test/", token="t0k", session=session).get_json("/tasks")
    method, url, kwargs = session.calls[0]
    assert url == "https://api.test/tasks"
    assert kwargs["headers"]["Authorization"] == "Bearer t0k"


def test_client_errors_raise_at_once():
    session = FakeSession(FakeResponse(404))
    with pytest.raises(requests.HTTPError):
        HttpClient("https://api.test", session=session, policy=RetryPolicy(max_attempts=5)).get_json("/missing")
    assert len(session.calls) == 1
