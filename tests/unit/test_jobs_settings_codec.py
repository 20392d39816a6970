"""Jobs settings from the environment and the POST /jobs body decoder (no I/O)."""

from __future__ import annotations

import pytest

from servekit.errors import ApiError
from servekit.jobs import shapes as c
from servekit.jobs.codec import job_body
from servekit.jobs.settings import JobsSettings
from servekit.settings import SettingsError
from servekit.transports.routing import decode_body

REQUIRED = {
    c.ENV_JOBS_TABLE: "jobs",
    c.ENV_JOBS_QUEUE_URL: "https://sqs.example/q",
    c.ENV_JOBS_RESULTS_BUCKET: "results",
}


def test_settings_defaults_and_overrides() -> None:
    settings = JobsSettings.from_env(REQUIRED)
    assert (settings.max_receive_count, settings.ttl_days) == (
        c.DEFAULT_MAX_RECEIVE_COUNT, c.DEFAULT_RESULT_TTL_DAYS,
    )  # fmt: skip
    assert settings.topic_arn is None and settings.callback_allow_http is False
    # The documented values themselves (README: jobs.max_receive_count 3, result_ttl_days 7,
    # inline_result_bytes 65536), from the environment and as the dataclass's defaults.
    bare = JobsSettings(table_name="jobs", queue_url="q", results_bucket="results")
    for defaults in (settings, bare):
        assert defaults.max_receive_count == 3
        assert defaults.ttl_days == 7
        assert defaults.inline_result_bytes == 65_536
        assert defaults.dlq_url is None and defaults.topic_arn is None
    custom = JobsSettings.from_env(
        {**REQUIRED, c.ENV_JOBS_MAX_RECEIVE_COUNT: "5", c.ENV_JOBS_CALLBACK_ALLOW_HTTP: "true"}
    )
    assert (custom.max_receive_count, custom.callback_allow_http) == (5, True)


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({}, c.ENV_JOBS_TABLE),
        ({**REQUIRED, c.ENV_JOBS_MAX_RECEIVE_COUNT: "three"}, "must be an integer"),
        ({**REQUIRED, c.ENV_JOBS_TTL_DAYS: "0"}, "at least 1"),
    ],
)
def test_settings_errors_name_the_variable(environ: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        JobsSettings.from_env(environ)


def test_visibility_timeout_is_six_times_the_worker_timeout() -> None:
    assert c.visibility_timeout_s(60) == 360 >= 6 * 60


def test_job_request_accepts_a_callback_and_refuses_others() -> None:
    body = b'{"inputs": [[1]], "callback_url": "https://example.com/done"}'
    request = decode_body(job_body(allow_http=False), body, "application/json", 1024)
    assert (request.inputs, request.model, request.callback_url) == (
        [[1]], None, "https://example.com/done",
    )  # fmt: skip
    local = b'{"inputs": [[1]], "callback_url": "http://localhost:9/x"}'
    assert decode_body(job_body(allow_http=True), local, None, 1024).callback_url
    with pytest.raises(ApiError) as refused:
        decode_body(job_body(allow_http=False), local, None, 1024)
    assert (refused.value.status, refused.value.code) == (422, "invalid_field")
    with pytest.raises(ApiError) as unsupported:
        decode_body(job_body(allow_http=False), body, "text/plain", 1024)
    assert unsupported.value.status == 415
