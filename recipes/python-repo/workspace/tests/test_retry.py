from taskq.utils.retry import DEFAULT_POLICY, RetryPolicy


def test_retries_server_errors_and_connection_failures():
    assert DEFAULT_POLICY.should_retry(1, 503)
    assert DEFAULT_POLICY.should_retry(1, None)


def test_does_not_retry_client_errors():
    assert not DEFAULT_POLICY.should_retry(1, 404)


def test_gives_up_after_max_attempts():
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(2, 503)
    assert not policy.should_retry(3, 503)


def test_delay_doubles():
    policy = RetryPolicy(backoff_s=0.5)
    assert [policy.delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
