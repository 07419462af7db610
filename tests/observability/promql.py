"""Small helpers over PromQL text: the metric names and selectors an expression reads,
and the dashboard's and alert rules' expressions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "prometheus" / "alerts.yml"
ALERTS_TEST = ROOT / "prometheus" / "alerts_test.yml"
PROMETHEUS_YML = ROOT / "prometheus" / "prometheus.yml"
DASHBOARD = ROOT / "grafana" / "dashboards" / "queuey.json"
DATASOURCES = ROOT / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
RUNBOOK = ROOT / "docs" / "RUNBOOK.md"

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
_KEYWORDS |= {"and", "or", "unless", "offset", "inf", "nan"}
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"

# Grafana's variables, as the e2e test substitutes them: a short window the test's
# 1 s scrapes fill within seconds, and All for the dashboard's variables.
GRAFANA_VARIABLES = {"$__rate_interval": "30s", "$queue": ".+", "$type": ".+"}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (functions, keywords and labels left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(rf"(?<![\w:$.]){_NAME}", text):
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or match.group(0) in _KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def selectors(expr: str) -> list[str]:
    """Each metric selector with its label matchers, e.g. `queuey_queue_depth{state="dead"}`."""
    found = []
    for name in sorted(metric_names(expr)):
        for m in re.finditer(rf"(?<![\w:]){re.escape(name)}(?![\w:])\s*(\{{[^}}]*\}})?", expr):
            found.append(name + (m.group(1) or ""))
    return sorted(set(found))


def substitute(expr: str) -> str:
    for var, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(var, value)
    return expr


def alert_rules(path: Path = ALERTS) -> list[dict[str, Any]]:
    doc = yaml.safe_load(path.read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def dashboard_panels() -> list[dict[str, Any]]:
    out = []
    for panel in dashboard()["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # a collapsed row's panels
    return out


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title / refId, expression) of every query of the dashboard."""
    return [
        (f"{p['title']} / {t['refId']}", t["expr"])
        for p in dashboard_panels()
        for t in p.get("targets", [])
    ]


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def runbook_anchors() -> set[str]:
    return {
        slug(line.lstrip("#")) for line in RUNBOOK.read_text().splitlines() if line.startswith("#")
    }
