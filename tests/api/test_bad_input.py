"""One test per kind of bad input: a clear 4xx naming the field, and nothing written."""

from __future__ import annotations

import uuid

import pytest

from tests.api.support import assert_rejected

pytestmark = pytest.mark.django_db

GOOD = {"type": "text.reverse", "payload": {"text": "hello"}}


@pytest.fixture
def post_job(api, admin_key):
    def post(body=None, status=400, field=None, code=None, *, raw=None, path="/v1/jobs", **kwargs):
        return assert_rejected(
            lambda: api.post(path, body, admin_key, raw=raw, **kwargs), status, field, code
        )

    return post


def job(**changes):
    return {**GOOD, **changes}


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


# --- the body as a whole ---------------------------------------------------------------
def test_it_rejects_malformed_json(post_job):
    post_job(raw=b'{"type": "text.reverse",', code="malformed")


def test_it_rejects_a_body_that_is_not_utf8(post_job):
    post_job(raw=b'{"type": "\xff\xfe"}', code="malformed")


def test_it_rejects_nan(post_job):
    post_job(raw=b'{"type": "demo.noop", "payload": {"x": NaN}}', code="malformed")


def test_it_rejects_infinity(post_job):
    post_job(raw=b'{"type": "demo.noop", "payload": {"x": -Infinity}}', code="malformed")


def test_it_rejects_a_number_postgres_cannot_store(post_job):
    post_job(raw=b'{"type": "demo.noop", "payload": {"x": 1e400}}', code="malformed")


def test_it_rejects_an_integer_python_refuses_to_parse(post_job):
    digits = b"9" * 5000
    post_job(raw=b'{"type": "demo.noop", "payload": {"x": ' + digits + b"}}", code="malformed")


def test_it_rejects_nesting_that_overflows_the_json_parser(post_job):
    deep = b"[" * 100_000 + b"]" * 100_000
    post_job(raw=b'{"type": "demo.noop", "payload": {"x": ' + deep + b"}}", code="malformed")


def test_it_rejects_a_body_nested_past_the_parser_limit(post_job):
    post_job(job(payload=nested(200)), code="malformed")


def test_it_rejects_a_body_that_is_not_an_object(post_job):
    post_job([GOOD], code="invalid")


def test_it_rejects_an_empty_body(post_job):
    post_job(raw=b"", field="type")


def test_it_rejects_an_unknown_field(post_job):
    post_job(job(max_attempt=3), field="max_attempt")


def test_it_rejects_a_non_json_content_type(post_job):
    post_job(
        raw=b"type=text.reverse",
        content_type="text/plain",
        status=415,
        field="content-type",
        code="unsupported_media_type",
    )


def test_it_rejects_a_form_post(post_job):
    post_job(
        raw=b"type=text.reverse",
        content_type="application/x-www-form-urlencoded",
        status=415,
        field="content-type",
    )


def test_it_rejects_a_body_over_the_request_limit_by_its_length(post_job, settings):
    settings.QUEUEY_MAX_REQUEST_BYTES = 1000
    post_job(job(payload={"text": "x" * 2000}), status=413, code="payload_too_large")


# --- type and payload ------------------------------------------------------------------
def test_it_rejects_a_missing_type(post_job):
    post_job({"payload": {}}, field="type")


def test_it_rejects_an_unknown_type_listing_the_valid_ones(post_job):
    error = post_job(job(type="no.such.type"), field="type")
    assert "text.reverse" in error["message"] and "demo.noop" in error["message"]


def test_it_rejects_a_type_that_is_not_a_string(post_job):
    post_job(job(type=123), field="type")


def test_it_rejects_a_missing_payload(post_job):
    post_job({"type": "demo.noop"}, field="payload")


def test_it_rejects_a_payload_that_is_not_an_object(post_job):
    post_job(job(payload=["text"]), field="payload")


def test_it_rejects_a_payload_the_handler_refuses(post_job):
    post_job(job(payload={"txt": "hello"}), field="payload.text")


def test_it_rejects_an_oversized_payload(post_job, settings):
    size = settings.QUEUEY_MAX_PAYLOAD_BYTES
    post_job(
        job(payload={"text": "x" * size}), status=413, field="payload", code="payload_too_large"
    )


def test_it_rejects_a_payload_nested_past_the_limit(post_job, settings):
    post_job(
        job(type="demo.noop", payload=nested(settings.QUEUEY_MAX_JSON_DEPTH + 1)), field="payload"
    )


def test_it_rejects_a_nul_character_in_the_payload(post_job):
    post_job(job(payload={"text": "a\u0000b"}), field="payload")


def test_it_rejects_a_nul_character_in_a_payload_key(post_job):
    post_job(job(type="demo.noop", payload={"a\u0000": 1}), field="payload")


def test_it_rejects_a_lone_surrogate_in_the_payload(post_job):
    post_job(raw=b'{"type": "text.reverse", "payload": {"text": "\\ud800"}}', field="payload")


# --- options ---------------------------------------------------------------------------
def test_it_rejects_an_unknown_queue_listing_the_valid_ones(post_job):
    error = post_job(job(queue="urgent"), field="queue")
    assert "high" in error["message"] and "low" in error["message"]


def test_it_rejects_max_attempts_below_one(post_job):
    post_job(job(max_attempts=0), field="max_attempts")


def test_it_rejects_max_attempts_above_the_bound(post_job):
    post_job(job(max_attempts=101), field="max_attempts")


def test_it_rejects_max_attempts_as_a_string(post_job):
    post_job(job(max_attempts="3"), field="max_attempts")


def test_it_rejects_max_attempts_as_a_boolean(post_job):
    post_job(job(max_attempts=True), field="max_attempts")


def test_it_rejects_a_zero_timeout(post_job):
    post_job(job(timeout_seconds=0), field="timeout_seconds")


def test_it_rejects_a_timeout_over_a_day(post_job):
    post_job(job(timeout_seconds=86_401), field="timeout_seconds")


def test_it_rejects_an_integer_too_large_for_a_float(post_job):
    post_job(job(timeout_seconds=10**400), field="timeout_seconds")


def test_it_rejects_a_negative_delay(post_job):
    post_job(job(delay_seconds=-1), field="delay_seconds")


def test_it_rejects_a_delay_over_a_year(post_job):
    post_job(job(delay_seconds=400 * 86400), field="delay_seconds")


def test_it_rejects_run_at_and_delay_together(post_job):
    post_job(job(run_at="2030-01-01T00:00:00Z", delay_seconds=5), field="run_at")


def test_it_rejects_a_run_at_without_offset(post_job):
    post_job(job(run_at="2030-01-01T00:00:00"), field="run_at")


def test_it_rejects_a_run_at_that_is_not_a_time(post_job):
    post_job(job(run_at="tomorrow"), field="run_at")


def test_it_rejects_a_run_at_that_is_a_number(post_job):
    post_job(job(run_at=1893456000), field="run_at")


def test_it_rejects_a_run_at_more_than_a_year_ahead(post_job):
    post_job(job(run_at="9999-12-31T23:59:59Z"), field="run_at")


def test_it_rejects_a_run_at_out_of_range_in_utc(post_job):
    post_job(job(run_at="0001-01-01T00:00:00+14:00"), field="run_at")


def test_it_rejects_an_over_long_dedupe_key(post_job):
    post_job(job(dedupe_key="k" * 256), field="dedupe_key")


def test_it_rejects_an_empty_dedupe_key(post_job):
    post_job(job(dedupe_key=""), field="dedupe_key")


def test_it_rejects_a_dedupe_key_with_a_newline(post_job):
    post_job(job(dedupe_key="a\nb"), field="dedupe_key")


def test_it_rejects_a_dedupe_key_with_a_nul_character(post_job):
    post_job(job(dedupe_key="a\u0000b"), field="dedupe_key")


def test_it_rejects_a_dedupe_key_that_is_a_number(post_job):
    post_job(job(dedupe_key=123), field="dedupe_key")


def test_it_rejects_a_dedupe_key_reused_with_another_payload(post_job, api, admin_key):
    first = api.post("/v1/jobs", job(dedupe_key="k1"), admin_key).json()["job_id"]
    error = post_job(
        job(dedupe_key="k1", payload={"text": "other"}),
        status=409,
        field="dedupe_key",
        code="dedupe_conflict",
    )
    assert error["job_id"] == first


def test_it_rejects_a_dedupe_key_reused_with_another_type(post_job, api, admin_key):
    api.post("/v1/jobs", job(dedupe_key="k2"), admin_key)
    post_job(
        {"type": "demo.noop", "payload": {"text": "hello"}, "dedupe_key": "k2"},
        status=409,
        field="dedupe_key",
    )


# --- keys ------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", ["missing", "unknown", "revoked"])
def test_it_rejects_a_bad_key_with_one_answer(api, revoked_key, persona):
    key = {"missing": None, "unknown": "qy_" + "x" * 40, "revoked": revoked_key}[persona]
    error = assert_rejected(
        lambda: api.post("/v1/jobs", GOOD, key), 401, "x-api-key", "unauthenticated"
    )
    assert error["message"] == "a valid x-api-key header is required"


def test_it_rejects_a_submit_from_a_read_key(api, read_key):
    assert_rejected(lambda: api.post("/v1/jobs", GOOD, read_key), 403, "x-api-key", "forbidden")


# --- batch -----------------------------------------------------------------------------
def test_it_rejects_a_batch_whose_jobs_is_not_a_list(post_job):
    post_job({"jobs": GOOD}, field="jobs", path="/v1/jobs/batch")


def test_it_rejects_an_empty_batch(post_job):
    post_job({"jobs": []}, field="jobs", path="/v1/jobs/batch")


def test_it_rejects_a_batch_over_the_maximum(post_job, settings):
    settings.QUEUEY_API_BATCH_MAX = 3
    post_job({"jobs": [GOOD] * 4}, field="jobs", path="/v1/jobs/batch")


def test_it_rejects_a_batch_with_an_item_that_is_not_an_object(post_job):
    post_job({"jobs": [GOOD, "text.reverse"]}, field="jobs[1]", path="/v1/jobs/batch")


def test_it_rejects_a_batch_naming_the_item_that_breaks_the_schema(post_job):
    error = post_job(
        {"jobs": [GOOD, GOOD, {**GOOD, "type": "nope"}]},
        field="jobs[2].type",
        path="/v1/jobs/batch",
    )
    assert "text.reverse" in error["message"]


def test_it_rejects_a_batch_item_with_an_unknown_field(post_job):
    post_job({"jobs": [{**GOOD, "priority": 1}]}, field="jobs[0].priority", path="/v1/jobs/batch")


def test_it_rejects_a_batch_with_an_unknown_field(post_job):
    post_job({"jobs": [GOOD], "atomic": True}, field="atomic", path="/v1/jobs/batch")


def test_it_rejects_a_batch_over_the_request_limit(post_job, settings):
    settings.QUEUEY_MAX_REQUEST_BYTES = 1000
    post_job({"jobs": [GOOD] * 100}, status=413, path="/v1/jobs/batch")


# --- list filters and cursors ----------------------------------------------------------
@pytest.fixture
def list_jobs(api, read_key):
    def get(field, **params):
        return assert_rejected(lambda: api.get("/v1/jobs", read_key, **params), 400, field)

    return get


def test_it_rejects_an_unknown_status_filter(list_jobs):
    list_jobs("status", status="done")


def test_it_rejects_an_unknown_queue_filter(list_jobs):
    list_jobs("queue", queue="urgent")


def test_it_rejects_a_nul_character_in_the_type_filter(list_jobs):
    list_jobs("type", type="text\u0000reverse")


def test_it_rejects_a_nul_character_in_the_dedupe_key_filter(list_jobs):
    list_jobs("dedupe_key", dedupe_key="\u0000")


def test_it_rejects_an_unknown_query_parameter(list_jobs):
    list_jobs("stauts", stauts="dead")


def test_it_rejects_a_query_parameter_given_twice(api, read_key):
    assert_rejected(lambda: api.get("/v1/jobs?limit=x&limit=2", read_key), 400, "limit")


def test_it_rejects_an_empty_type_filter(list_jobs):
    list_jobs("type", type="")


def test_it_rejects_an_over_long_type_filter(list_jobs):
    list_jobs("type", type="t" * 129)


def test_it_rejects_a_cursor_it_did_not_issue(list_jobs):
    list_jobs("cursor", cursor="not-a-cursor!")


def test_it_rejects_a_cursor_with_a_nul_character(list_jobs):
    list_jobs("cursor", cursor="\u0000")


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
def test_it_rejects_a_bad_page_size(list_jobs, limit):
    list_jobs("limit", limit=limit)


# --- ids -------------------------------------------------------------------------------
@pytest.mark.parametrize("job_id", ["not-a-uuid", str(uuid.uuid4()), "%00", "1" * 300])
def test_it_answers_404_to_a_bad_or_unknown_id(api, read_key, job_id):
    assert_rejected(lambda: api.get(f"/v1/jobs/{job_id}", read_key), 404, "id", "not_found")


@pytest.mark.parametrize("action", ["cancel", "retry"])
def test_it_answers_404_to_an_admin_action_on_a_bad_id(api, admin_key, action):
    assert_rejected(lambda: api.post(f"/v1/jobs/nope/{action}", None, admin_key), 404, "id")


# --- replay ----------------------------------------------------------------------------
@pytest.mark.parametrize("limit", ["0", "10001", "all"])
def test_it_rejects_a_bad_replay_limit(api, admin_key, limit):
    assert_rejected(
        lambda: api.post(f"/v1/replay-dlq?limit={limit}", None, admin_key), 400, "limit"
    )
