"""The overview's per-minute chart, laid out here and drawn as inline SVG by a template.

Each minute is one column: succeeded stacked on failed, scaled to the busiest minute, so
the chart needs no script and renders the same with JavaScript off.
"""

from __future__ import annotations

from datetime import timedelta

WIDTH = 600
HEIGHT = 120


def minute_columns(outcomes: dict) -> dict:
    """SVG geometry for selectors.outcomes_per_minute()'s series."""
    minutes = outcomes["minutes"]
    peak = max(
        (s + f for s, f in zip(outcomes["succeeded"], outcomes["failed"], strict=True)), default=0
    )
    step = WIDTH / minutes
    scale = HEIGHT / peak if peak else 0
    columns = []
    for index, (ok, bad) in enumerate(zip(outcomes["succeeded"], outcomes["failed"], strict=True)):
        failed_height = bad * scale
        ok_height = ok * scale
        columns.append(
            {
                "x": round(index * step + 1, 2),
                "width": round(max(step - 2, 1), 2),
                "failed_y": round(HEIGHT - failed_height, 2),
                "failed_height": round(failed_height, 2),
                "ok_y": round(HEIGHT - failed_height - ok_height, 2),
                "ok_height": round(ok_height, 2),
                "at": outcomes["start"] + timedelta(minutes=index),
                "succeeded": ok,
                "failed": bad,
            }
        )
    return {"width": WIDTH, "height": HEIGHT, "peak": peak, "columns": columns}
