"""grafana/: the dashboard as generated, current panel types, fixed uids and ids, the
provisioned datasource, and only series of the metric contract."""

from __future__ import annotations

import importlib.util

import yaml

from tests.observability.contract import series_names
from tests.observability.promql import (
    DASHBOARD,
    DATASOURCES,
    ROOT,
    dashboard,
    dashboard_panels,
    dashboard_queries,
    metric_names,
)

PANEL_TYPES = {"row", "stat", "timeseries"}


def _builder():
    spec = importlib.util.spec_from_file_location(
        "build_dashboard", ROOT / "grafana" / "build_dashboard.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_queuey_json_is_what_build_dashboard_writes():
    assert DASHBOARD.read_text() == _builder().render(), (
        "grafana/dashboards/queuey.json is stale: run python grafana/build_dashboard.py"
    )


def test_fixed_uid_and_panel_ids_current_panel_types():
    board = dashboard()
    assert board["uid"] == "queuey-main"
    panels = dashboard_panels()
    ids = [p["id"] for p in panels]
    assert all(isinstance(i, int) for i in ids)
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert {p["type"] for p in panels} <= PANEL_TYPES, "no `graph` or other legacy panels"
    assert "${DS_" not in DASHBOARD.read_text(), "datasource by uid, not an import variable"


def test_every_panel_and_query_uses_the_provisioned_datasource():
    provisioned = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    uid = next(d["uid"] for d in provisioned if d["type"] == "prometheus")
    for panel in dashboard_panels():
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
    for var in dashboard()["templating"]["list"]:
        if var["type"] == "query":
            assert var["datasource"]["uid"] == uid


def test_panels_do_not_overlap_and_fit_the_grid():
    taken: set[tuple[int, int]] = set()
    for panel in dashboard()["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_the_dashboard_reads_only_contract_series_and_covers_them_all():
    known = series_names()
    used: set[str] = set()
    for title, expr in dashboard_queries():
        names = metric_names(expr)
        assert names, f"{title}: no metric in {expr}"
        assert not names - known, f"{title} reads series outside the contract: {names - known}"
        used |= names
    # Every counter, histogram and gauge of the contract is on some panel ("up" is the
    # alerts' business; histograms are read through their buckets).
    wanted = {n for n in known if n != "up" and not n.endswith(("_sum", "_count"))}
    assert wanted - used == set(), f"not on the dashboard: {sorted(wanted - used)}"
