"""Real worker and watchdog processes on the 3-master cluster with 6 partitions: the
kill, lease, priority, dead-letter and flush cases of tests/acceptance, collected again."""

from __future__ import annotations

import pytest

from tests.acceptance import test_worker_processes as _cases

pytestmark = pytest.mark.acceptance

test_text_reverse_end_to_end = _cases.test_text_reverse_end_to_end
test_priority_order_across_a_real_worker = _cases.test_priority_order_across_a_real_worker
test_sigkill_mid_job_is_requeued_after_visibility_timeout_and_succeeds = (
    _cases.test_sigkill_mid_job_is_requeued_after_visibility_timeout_and_succeeds
)
test_failing_job_ends_in_dlq_with_every_attempt_and_replays = (
    _cases.test_failing_job_ends_in_dlq_with_every_attempt_and_replays
)
test_sigterm_drains_running_jobs_then_exits_zero = (
    _cases.test_sigterm_drains_running_jobs_then_exits_zero
)
test_redis_flushall_with_jobs_queued_watchdog_redispatches_all = (
    _cases.test_redis_flushall_with_jobs_queued_watchdog_redispatches_all
)
