"""/v1 routes (mounted by queuey_site.urls). No trailing slashes; anything else is a JSON 404."""

from __future__ import annotations

from django.urls import path, re_path

from jobs.api import views
from jobs.api.docs import DocsView, SchemaView
from jobs.api.errors import unknown_url

app_name = "api_v1"

urlpatterns = [
    path("jobs", views.JobsView.as_view(), name="jobs"),
    # Before jobs/<job_id>, which would otherwise take "batch" for an id.
    path("jobs/batch", views.JobBatchView.as_view(), name="jobs-batch"),
    path("jobs/<str:job_id>", views.JobDetailView.as_view(), name="job"),
    path("jobs/<str:job_id>/cancel", views.JobCancelView.as_view(), name="job-cancel"),
    path("jobs/<str:job_id>/retry", views.JobRetryView.as_view(), name="job-retry"),
    path("queues/metrics", views.QueueMetricsView.as_view(), name="queue-metrics"),
    path("replay-dlq", views.ReplayDlqView.as_view(), name="replay-dlq"),
    path("workers", views.WorkersView.as_view(), name="workers"),
    path("schema", SchemaView.as_view(), name="schema"),
    path("docs", DocsView.as_view(), name="docs"),
    # Last: every other URL under /v1 answers 404 in the API's error shape.
    re_path(r"^", unknown_url),
]
