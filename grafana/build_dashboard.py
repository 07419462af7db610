#!/usr/bin/env python3
"""Source of grafana/dashboards/queuey.json: `python grafana/build_dashboard.py` writes it.

Edit the panels here, not in the JSON (tests/observability/test_dashboard.py checks the
two agree, and tests/observability/test_prometheus_e2e.py runs every expression below
against a real Prometheus scraping a running stack).

Conventions:
- The datasource is referenced by its fixed uid (grafana/provisioning/datasources), never
  `${DS_PROMETHEUS}`, which breaks file provisioning. The dashboard uid and every panel
  id are fixed: links (`/d/queuey-main/queuey?viewPanel=<id>`) and the runbook's panel
  names stay valid. New panels take new ids; never reuse one.
- The scrape-time gauges (depth, oldest age, workers, watchdog, Redis/database up) come
  from the API's /metrics only; with several API replicas each reports the same value,
  so panels take max() (min() for the up gauges) over instances, never sum().
- Counters and histograms come from every API, worker and watchdog target: sum() them.
- Rates use Grafana's `$__rate_interval`; `$queue` and `$type` are the dashboard's
  variables (regexes: `.+` when All).
Pure standard library.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards" / "queuey.json"
DASHBOARD_UID = "queuey-main"
DATASOURCE = {"type": "prometheus", "uid": "queuey-prom"}

Q = 'queue=~"$queue"'
QT = 'queue=~"$queue", type=~"$type"'
RI = "$__rate_interval"
RESPONSES = "django_http_responses_total_by_status_view_method_total"
LATENCY = "django_http_requests_latency_seconds_by_view_method"


def _target(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    return {
        "datasource": DATASOURCE,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": True,
        "refId": ref,
    }


def _targets(queries: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [_target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(queries)]


def _quantiles(
    metric: str, by: str = "", selector: str = "", qs: tuple[float, ...] = (0.5, 0.95, 0.99)
) -> list[tuple[str, str]]:
    """histogram_quantile() of a histogram's buckets, one query per quantile; legend: the
    quantile, or the `by` label's value."""
    labels = f"le, {by}" if by else "le"
    sel = f"{{{selector}}}" if selector else ""
    return [
        (
            f"histogram_quantile({q}, sum by ({labels}) (rate({metric}_bucket{sel}[{RI}])))",
            f"{{{{{by}}}}}" if by else f"p{round(q * 100)}",
        )
        for q in qs
    ]


class Layout:
    """Panels in rows of 24 grid units; ids are given explicitly and must stay fixed."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.x = 0
        self.y = 0
        self.row_height = 0

    def _place(self, w: int, h: int) -> dict[str, int]:
        if self.x + w > 24:
            self.x, self.y = 0, self.y + self.row_height
            self.row_height = 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_height = max(self.row_height, h)
        return pos

    def row(self, pid: int, title: str) -> None:
        if self.x:
            self.x, self.y = 0, self.y + self.row_height
        self.panels.append(
            {
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
                "id": pid,
                "panels": [],
                "title": title,
                "type": "row",
            }
        )
        self.y += 1
        self.row_height = 0

    def stat(
        self,
        pid: int,
        title: str,
        expr: str,
        *,
        unit: str = "short",
        description: str,
        thresholds: list[tuple[float | None, str]] | None = None,
        mappings: list[dict[str, Any]] | None = None,
    ) -> None:
        steps = [{"color": c, "value": v} for v, c in (thresholds or [(None, "green")])]
        self.panels.append(
            {
                "datasource": DATASOURCE,
                "description": description,
                "fieldConfig": {
                    "defaults": {
                        "color": {"mode": "thresholds"},
                        "mappings": mappings or [],
                        "thresholds": {"mode": "absolute", "steps": steps},
                        "unit": unit,
                    },
                    "overrides": [],
                },
                "gridPos": self._place(4, 4),
                "id": pid,
                "options": {
                    "colorMode": "value",
                    "graphMode": "area",
                    "justifyMode": "auto",
                    "orientation": "auto",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "showPercentChange": False,
                    "textMode": "auto",
                    "wideLayout": True,
                },
                "targets": [_target(expr, title)],
                "title": title,
                "type": "stat",
            }
        )

    def timeseries(
        self,
        pid: int,
        title: str,
        queries: list[tuple[str, str]],
        *,
        unit: str = "short",
        description: str,
        width: int = 12,
        stack: bool = False,
    ) -> None:
        self.panels.append(
            {
                "datasource": DATASOURCE,
                "description": description,
                "fieldConfig": {
                    "defaults": {
                        "color": {"mode": "palette-classic"},
                        "custom": {
                            "drawStyle": "line",
                            "fillOpacity": 10,
                            "lineWidth": 1,
                            "showPoints": "never",
                            "spanNulls": False,
                            "stacking": {"group": "A", "mode": "normal" if stack else "none"},
                        },
                        "min": 0,
                        "unit": unit,
                    },
                    "overrides": [],
                },
                "gridPos": self._place(width, 8),
                "id": pid,
                "options": {
                    "legend": {"calcs": [], "displayMode": "list", "placement": "bottom"},
                    "tooltip": {"mode": "multi", "sort": "desc"},
                },
                "targets": _targets(queries),
                "title": title,
                "type": "timeseries",
            }
        )


_UP_MAPPINGS = [
    {
        "options": {
            "0": {"color": "red", "index": 0, "text": "DOWN"},
            "1": {"color": "green", "index": 1, "text": "UP"},
        },
        "type": "value",
    }
]


def panels() -> list[dict[str, Any]]:
    p = Layout()

    p.row(1, "Overview")
    p.stat(
        2,
        "Workers online",
        "max(queuey_workers_online)",
        description="Worker processes with a live heartbeat (read from Redis at scrape time).",
        thresholds=[(None, "red"), (1, "green")],
    )
    p.stat(
        3,
        "Busy slots",
        "max(queuey_worker_busy_slots)",
        description="Handler slots running a job, over all online workers "
        "(of queuey_worker_slots in total).",
    )
    p.stat(
        4,
        "Ready jobs",
        f'sum(max by (queue) (queuey_queue_depth{{state="ready", {Q}}}))',
        description="Jobs waiting for a worker on the selected queues.",
    )
    p.stat(
        5,
        "Running (leased)",
        f'sum(max by (queue) (queuey_queue_depth{{state="leased", {Q}}}))',
        description="Jobs claimed by a worker whose lease has not expired.",
    )
    p.stat(
        6,
        "Scheduled",
        f'sum(max by (queue) (queuey_queue_depth{{state="scheduled", {Q}}}))',
        description="Jobs waiting for their run_at or retry backoff.",
    )
    p.stat(
        7,
        "Dead letters",
        f'sum(max by (queue) (queuey_queue_depth{{state="dead", {Q}}}))',
        description="Jobs in the dead-letter queue (replay them from /dashboard/ Dead letters).",
        thresholds=[(None, "green"), (1, "orange")],
    )
    p.stat(
        8,
        "Oldest waiting job",
        f"max(queuey_oldest_job_age_seconds{{{Q}}})",
        unit="s",
        description="Age of the oldest ready job. QueueyOldestJobTooOld fires above 300 s.",
        thresholds=[(None, "green"), (60, "orange"), (300, "red")],
    )
    p.stat(
        9,
        "Watchdog last pass",
        "time() - max(queuey_watchdog_last_pass_timestamp_seconds)",
        unit="s",
        description="Seconds since the watchdog's last successful pass. "
        "QueueyWatchdogSilent fires above 60 s.",
        thresholds=[(None, "green"), (10, "orange"), (60, "red")],
    )
    p.stat(
        10,
        "Redis",
        "min(queuey_redis_up)",
        description="Whether the API reaches Redis (1 UP, 0 DOWN).",
        thresholds=[(None, "red"), (1, "green")],
        mappings=_UP_MAPPINGS,
    )
    p.stat(
        11,
        "Database",
        "min(queuey_database_up)",
        description="Whether the API reaches the database (1 UP, 0 DOWN).",
        thresholds=[(None, "red"), (1, "green")],
        mappings=_UP_MAPPINGS,
    )
    p.stat(
        12,
        "Failed attempts (5m)",
        f'(sum(rate(queuey_jobs_finished_total{{outcome=~"failed|timeout", {QT}}}[5m]))'
        f" or vector(0)) / sum(rate(queuey_jobs_finished_total{{{QT}}}[5m]))",
        unit="percentunit",
        description="Share of attempts that ended failed or timeout over the last 5 minutes.",
        thresholds=[(None, "green"), (0.05, "orange"), (0.25, "red")],
    )
    p.stat(
        13,
        "Stale results refused (1h)",
        f"sum(increase(queuey_stale_results_refused_total{{{QT}}}[1h]))",
        description="Results refused because their attempt had lost its lease: the job ran twice.",
        thresholds=[(None, "green"), (1, "orange")],
    )

    p.row(20, "Throughput")
    p.timeseries(
        21,
        "Attempts finished by outcome",
        [
            (
                f"sum by (outcome) (rate(queuey_jobs_finished_total{{{QT}}}[{RI}]))",
                "{{outcome}}",
            )
        ],
        unit="ops",
        description="Attempts ended, as the workers report them: succeeded, failed, "
        "timeout, cancelled (per second).",
        stack=True,
    )
    p.timeseries(
        22,
        "Jobs enqueued and deduplicated by queue",
        [
            (
                f"sum by (queue) (rate(queuey_jobs_enqueued_total{{{QT}}}[{RI}]))",
                "{{queue}} enqueued",
            ),
            (
                f"sum by (queue) (rate(queuey_jobs_deduplicated_total{{{QT}}}[{RI}]))",
                "{{queue}} deduplicated",
            ),
        ],
        unit="ops",
        description="Jobs accepted, and submits answered with an existing job "
        "(same dedupe_key), per second.",
    )
    p.timeseries(
        23,
        "Attempts started by queue",
        [
            (
                f"sum by (queue) (rate(queuey_jobs_started_total{{{QT}}}[{RI}]))",
                "{{queue}}",
            )
        ],
        unit="ops",
        description="Attempts claimed by workers, per second.",
    )
    p.timeseries(
        24,
        "Failure ratio by type",
        [
            (
                "(sum by (type) (rate(queuey_jobs_finished_total"
                f'{{outcome=~"failed|timeout", {QT}}}[{RI}]))'
                f" or 0 * sum by (type) (rate(queuey_jobs_finished_total{{{QT}}}[{RI}])))"
                f" / sum by (type) (rate(queuey_jobs_finished_total{{{QT}}}[{RI}]))",
                "{{type}}",
            )
        ],
        unit="percentunit",
        description="Share of attempts that ended failed or timeout, by job type (0 for types "
        "with none).",
    )
    p.timeseries(
        25,
        "Retries and dead letters",
        [
            (
                f"sum by (queue) (rate(queuey_jobs_retried_total{{{QT}}}[{RI}]))",
                "{{queue}} retry scheduled",
            ),
            (
                f"sum by (queue) (rate(queuey_jobs_dead_lettered_total{{{QT}}}[{RI}]))",
                "{{queue}} dead-lettered",
            ),
        ],
        unit="ops",
        description="Failed attempts given another try after a backoff, and jobs moved "
        "to the dead-letter queue after their last attempt, per second.",
    )
    p.timeseries(
        26,
        "Cancelled and replayed",
        [
            (
                f"sum by (queue) (rate(queuey_jobs_cancelled_total{{{QT}}}[{RI}]))",
                "{{queue}} cancelled",
            ),
            (
                f"sum by (queue) (rate(queuey_jobs_replayed_total{{{QT}}}[{RI}]))",
                "{{queue}} replayed",
            ),
        ],
        unit="ops",
        description="Operator actions: jobs cancelled, dead jobs replayed (API or dashboard).",
    )

    p.row(30, "Queues")
    p.timeseries(
        31,
        "Depth by queue and state",
        [
            (
                f"max by (queue, state) (queuey_queue_depth{{{Q}}})",
                "{{queue}} {{state}}",
            )
        ],
        description="Jobs per queue in each place: ready, scheduled, leased (running), dead.",
    )
    p.timeseries(
        32,
        "Oldest waiting job by queue",
        [(f"max by (queue) (queuey_oldest_job_age_seconds{{{Q}}})", "{{queue}}")],
        unit="s",
        description="How long the oldest ready job of each queue has waited. "
        "QueueyOldestJobTooOld fires above 300 s.",
    )
    p.timeseries(
        33,
        "Dead-letter queue",
        [
            (
                f'max by (queue) (queuey_queue_depth{{state="dead", {Q}}})',
                "{{queue}} depth",
            ),
        ],
        description="Dead jobs waiting for a replay, by queue. "
        "QueueyDeadLettersGrowing fires when it grows.",
    )

    p.row(40, "Latency")
    p.timeseries(
        41,
        "Wait time (enqueued or due → started)",
        _quantiles("queuey_job_wait_seconds", selector=Q),
        unit="s",
        width=8,
        description="Time from enqueue (or from the due time of a scheduled or retrying "
        "job) until a worker starts it.",
    )
    p.timeseries(
        42,
        "Run time",
        _quantiles("queuey_job_run_seconds", selector=QT),
        unit="s",
        width=8,
        description="Handler run time per attempt.",
    )
    p.timeseries(
        43,
        "End-to-end time (enqueued → finished)",
        _quantiles("queuey_job_end_to_end_seconds", selector=QT),
        unit="s",
        width=8,
        description="From the job's enqueue to its final outcome, retries included.",
    )
    p.timeseries(
        44,
        "Wait time p95 by queue",
        _quantiles("queuey_job_wait_seconds", by="queue", selector=Q, qs=(0.95,)),
        unit="s",
        description="95th percentile wait per queue: high should stay lowest.",
    )
    p.timeseries(
        45,
        "Run time p95 by type",
        _quantiles("queuey_job_run_seconds", by="type", selector=QT, qs=(0.95,)),
        unit="s",
        description="95th percentile run time per job type.",
    )

    p.row(50, "Leases, fencing and the watchdog")
    p.timeseries(
        51,
        "Lease expirations by queue",
        [
            (
                f"sum by (queue) (rate(queuey_leases_expired_total{{{QT}}}[{RI}])) * 60",
                "{{queue}}",
            )
        ],
        width=8,
        description="Leases the watchdog found expired, per minute: a worker died, hung "
        "or stalled past the visibility timeout.",
    )
    p.timeseries(
        52,
        "Stale results refused by type",
        [
            (
                f"sum by (type) (rate(queuey_stale_results_refused_total{{{QT}}}[{RI}])) * 60",
                "{{type}}",
            )
        ],
        width=8,
        description="Results refused because their attempt had lost its lease, per minute.",
    )
    p.timeseries(
        53,
        "Jobs redispatched by the reconciler",
        [
            (
                f"sum by (queue) (rate(queuey_jobs_redispatched_total{{{Q}}}[{RI}])) * 60",
                "{{queue}}",
            )
        ],
        width=8,
        description="Jobs the database held as unfinished that Redis did not know, "
        "dispatched again by the watchdog, per minute.",
    )
    p.timeseries(
        54,
        "Watchdog passes by result",
        [
            (
                f"sum by (result) (rate(queuey_watchdog_passes_total[{RI}]))",
                "{{result}}",
            )
        ],
        unit="ops",
        description="Watchdog passes per second, ok or failed.",
    )
    p.timeseries(
        55,
        "Seconds since the watchdog's last pass",
        [("time() - max(queuey_watchdog_last_pass_timestamp_seconds)", "since last pass")],
        unit="s",
        description="QueueyWatchdogSilent fires above 60 s.",
    )

    p.row(60, "Workers")
    p.timeseries(
        61,
        "Workers online and slots",
        [
            ("max(queuey_workers_online)", "workers online"),
            ("max(queuey_worker_slots)", "slots"),
            ("max(queuey_worker_busy_slots)", "busy slots"),
        ],
        width=8,
        description="Worker processes with a live heartbeat, their handler slots "
        "(concurrency) and the slots running a job.",
    )
    p.timeseries(
        62,
        "Slot utilisation",
        [("max(queuey_worker_busy_slots) / max(queuey_worker_slots)", "busy / slots")],
        unit="percentunit",
        width=8,
        description="Near 100 % with ready jobs waiting: add workers or concurrency.",
    )
    p.timeseries(
        63,
        "Worker starts and stops",
        [
            (f"sum(rate(queuey_workers_started_total[{RI}])) * 60", "started / min"),
            (f"sum(rate(queuey_workers_stopped_total[{RI}])) * 60", "stopped / min"),
        ],
        width=8,
        description="Worker processes starting and stopping, per minute: a steady rate "
        "means a crash loop.",
    )

    p.row(70, "API")
    p.timeseries(
        71,
        "API requests by status",
        [(f"sum by (status) (rate({RESPONSES}[{RI}]))", "{{status}}")],
        unit="reqps",
        width=8,
        description="Responses per second by HTTP status (every view, /metrics included).",
    )
    p.timeseries(
        72,
        "API 5xx ratio",
        [
            (
                f'(sum(rate({RESPONSES}{{status=~"5.."}}[{RI}])) or vector(0))'
                f" / sum(rate({RESPONSES}[{RI}]))",
                "5xx / all",
            )
        ],
        unit="percentunit",
        width=8,
        description="Share of responses that are server errors. "
        "QueueyApi5xxRatioHigh fires above 5 % over 5 minutes.",
    )
    p.timeseries(
        73,
        "API latency",
        _quantiles(LATENCY),
        unit="s",
        width=8,
        description="Request latency over every view.",
    )
    p.timeseries(
        74,
        "API latency p95 by view",
        _quantiles(LATENCY, by="view", qs=(0.95,)),
        unit="s",
        width=24,
        description="95th percentile latency per Django view.",
    )
    return p.panels


def _variable(name: str, label: str) -> dict[str, Any]:
    return {
        "allValue": ".+",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
    }


def _custom_variable(name: str, label: str, values: list[str]) -> dict[str, Any]:
    return {
        **_variable(name, label),
        "options": [{"selected": False, "text": v, "value": v} for v in values],
        "query": ",".join(values),
        "type": "custom",
    }


def _label_variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        **_variable(name, label),
        "datasource": DATASOURCE,
        "definition": query,
        "options": [],
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "type": "query",
    }


def dashboard() -> dict[str, Any]:
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": "Queuey: throughput, queues, latency, leases and fencing, workers, "
        "API. Alerts and their runbook: prometheus/alerts.yml, docs/RUNBOOK.md.",
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "panels": panels(),
        "refresh": "10s",
        "schemaVersion": 39,
        "tags": ["queuey"],
        "templating": {
            "list": [
                _custom_variable("queue", "Queue", ["high", "default", "low"]),
                _label_variable(
                    "type", "Job type", "label_values(queuey_jobs_enqueued_total, type)"
                ),
            ]
        },
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": "Queuey",
        "uid": DASHBOARD_UID,
        "version": 1,
        "weekStart": "",
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")
