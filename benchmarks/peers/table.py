"""The peers table: per figure, every system's median (min-max) and Queuey's ratio to
each peer (Queuey / peer, on SQLite and on PostgreSQL), all taken in one run."""

from __future__ import annotations

QUEUEY = ("Queuey SQLite", "Queuey PostgreSQL")
# (title, scenario for Queuey, scenario for the peers, key, higher is better)
FIGURES = [
    ("drain 5,000, jobs/s, incl. start-up", "drain5000", "drain5000", "jobs_per_s", True),
    ("drain 20,000, jobs/s, incl. start-up", "drain20000", "drain20000", "jobs_per_s", True),
    ("drain 1,000, jobs/s, incl. start-up", "drain1000", "drain1000", "jobs_per_s", True),
    ("drain 4,000, jobs/s, incl. start-up", "drain4000", "drain4000", "jobs_per_s", True),
    ("worker exec -> first job started, ms", "drain5000", "drain5000", "startup_ms", False),
    ("worker exec -> first job started, ms (1,000)", "drain1000", "drain1000", "startup_ms", False),
    ("watchdog exec -> first pass done, ms", "watchdog", None, "startup_ms", False),
    ("200/s enqueue -> start p50, ms", "lat200", "lat200", "started_p50_ms", False),
    ("200/s enqueue -> start p99, ms", "lat200", "lat200", "started_p99_ms", False),
    ("200/s enqueue -> finish p50, ms", "lat200", "lat200", "finished_p50_ms", False),
    ("200/s enqueue -> finish p99, ms", "lat200", "lat200", "finished_p99_ms", False),
    ("200/s POST /v1/jobs -> start p50, ms (peers in-process)", "api200", "lat200",
     "started_p50_ms", False),
    ("200/s POST /v1/jobs -> start p99, ms (peers in-process)", "api200", "lat200",
     "started_p99_ms", False),
    ("200/s POST /v1/jobs -> finish p99, ms (peers in-process)", "api200", "lat200",
     "finished_p99_ms", False),
    ("one-call enqueue, jobs/s, one producer", "enqueue", "enqueue", "jobs_per_s", True),
]  # fmt: skip


def _median(runs: list[float]) -> float:
    ordered = sorted(runs)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _cell(runs: list[float]) -> str:
    digits = 0 if _median(runs) >= 100 else 1 if _median(runs) >= 10 else 2
    med, lo, hi = (f"{v:.{digits}f}" for v in (_median(runs), min(runs), max(runs)))
    return f"{med} ({lo}-{hi})" if len(runs) > 1 else med


def render(results: dict, systems: list[str]) -> str:
    """results[scenario][system] = list of run dicts (None for a failed run)."""
    present = [q for q in QUEUEY if q in systems]
    head = f"  {'system':20} {'median (min-max)':>26}" + "".join(
        f" {'x ' + q.split()[1]:>12}" for q in present
    )
    lines = ["ratio = Queuey / peer, medians of the same run"]
    for title, q_scenario, p_scenario, key, higher in FIGURES:
        rows = []
        queuey_medians = {}
        for system in systems:
            scenario = q_scenario if system in QUEUEY else p_scenario
            runs = [r[key] for r in results.get(scenario, {}).get(system, []) if r and key in r]
            if not runs:
                continue
            ratios = ""
            if system in QUEUEY:
                queuey_medians[system] = _median(runs)
            else:
                ratios = "".join(
                    f" {queuey_medians[q] / _median(runs):>11.2f}x" if q in queuey_medians else
                    f" {'-':>12}"
                    for q in present
                )  # fmt: skip
            rows.append(f"  {system:20} {_cell(runs):>26}{ratios}")
        if rows:
            better = "higher" if higher else "lower"
            lines += ["", f"{title} ({better} is better)", head, *rows]
    return "\n".join(lines)
