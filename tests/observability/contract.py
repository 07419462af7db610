"""The metric contract (issue #11): every series the dashboard and the alerts may read,
with its type, its labels and where it is exposed. tests/observability checks the
dashboard and alerts.yml read nothing else, and the e2e test that each one is scraped."""

from __future__ import annotations

API, WORKER, WATCHDOG = "api", "worker", "watchdog"

QUEUES = ("high", "default", "low")
# interrupted: an attempt released unfinished at a worker's shutdown (requeued at once).
OUTCOMES = ("succeeded", "failed", "timeout", "cancelled", "interrupted")
DEPTH_STATES = ("ready", "scheduled", "leased", "dead")

# name -> (type, labels)
COUNTERS = {
    "queuey_jobs_enqueued_total": ("queue", "type"),
    "queuey_jobs_deduplicated_total": ("queue", "type"),
    "queuey_jobs_started_total": ("queue", "type"),
    "queuey_jobs_finished_total": ("queue", "type", "outcome"),
    "queuey_jobs_retried_total": ("queue", "type"),
    "queuey_jobs_dead_lettered_total": ("queue", "type"),
    "queuey_leases_expired_total": ("queue", "type"),
    "queuey_stale_results_refused_total": ("queue", "type"),
    "queuey_jobs_cancelled_total": ("queue", "type"),
    "queuey_jobs_replayed_total": ("queue", "type"),
    "queuey_jobs_redispatched_total": ("queue",),
    "queuey_workers_started_total": (),
    "queuey_workers_stopped_total": (),
    "queuey_watchdog_passes_total": ("result",),
}
HISTOGRAMS = {
    "queuey_job_wait_seconds": ("queue",),
    "queuey_job_run_seconds": ("queue", "type"),
    "queuey_job_end_to_end_seconds": ("queue", "type"),
}
# Computed at scrape time, on the API's /metrics only.
API_GAUGES = {
    "queuey_queue_depth": ("queue", "state"),
    "queuey_oldest_job_age_seconds": ("queue",),
    "queuey_workers_online": (),
    "queuey_worker_slots": (),
    "queuey_worker_busy_slots": (),
    "queuey_watchdog_last_pass_timestamp_seconds": (),
    "queuey_redis_up": (),
    "queuey_database_up": (),
}
DJANGO = {
    "django_http_requests_latency_seconds_by_view_method": ("view", "method"),
    "django_http_responses_total_by_status_view_method_total": ("status", "view", "method"),
}
PROMETHEUS = {"up": ("job", "instance")}


def series_names() -> set[str]:
    """Every name a PromQL expression may use (histograms with their _bucket/_sum/_count)."""
    names = set(COUNTERS) | set(API_GAUGES) | set(PROMETHEUS)
    for name in (*HISTOGRAMS, "django_http_requests_latency_seconds_by_view_method"):
        names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    names.add("django_http_responses_total_by_status_view_method_total")
    return names
