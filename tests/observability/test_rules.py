"""prometheus/: the compose config and the alert rules pass promtool, every alert has its
unit tests (firing and not) and its runbook section."""

from __future__ import annotations

import yaml

from tests.observability.conftest import run
from tests.observability.contract import series_names
from tests.observability.promql import (
    ALERTS,
    ALERTS_TEST,
    PROMETHEUS_YML,
    ROOT,
    alert_rules,
    metric_names,
    runbook_anchors,
)

EXPECTED_ALERTS = {
    "QueueyDeadLettersGrowing",
    "QueueyNoWorkersWhileJobsWait",
    "QueueyOldestJobTooOld",
    "QueueyLeaseExpirationsSpiking",
    "QueueyStaleResultsRefused",
    "QueueyWatchdogSilent",
    "QueueyApi5xxRatioHigh",
    "QueueyRedisDown",
    "QueueyDatabaseDown",
    "QueueyScrapeDown",
}


def test_promtool_check_config_of_the_compose_prometheus(promtool):
    result = run(promtool, "check", "config", str(PROMETHEUS_YML))
    assert result.returncode == 0, result.stdout + result.stderr
    # The config loads the rules: an alerts.yml dropped from rule_files would pass unnoticed.
    assert "1 rule files found" in result.stdout + result.stderr


def test_promtool_check_rules(promtool):
    result = run(promtool, "check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(EXPECTED_ALERTS)} rules found" in result.stdout


def test_promtool_unit_tests_of_the_rules_pass(promtool):
    result = run(promtool, "test", "rules", str(ALERTS_TEST), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_compose_config_loads_alerts_yml_and_scrapes_every_component():
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {c["job_name"] for c in config["scrape_configs"]}
    assert {"queuey-api", "queuey-worker", "queuey-watchdog"} <= jobs


def test_the_alerts_are_the_expected_ones_with_severity_and_annotations():
    rules = alert_rules()
    assert {r["alert"] for r in rules} == EXPECTED_ALERTS
    assert len(rules) == len(EXPECTED_ALERTS)
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        notes = rule["annotations"]
        assert notes["summary"].strip() and notes["description"].strip(), rule["alert"]


def test_every_alert_links_its_own_runbook_section():
    anchors = runbook_anchors()
    for rule in alert_rules():
        url = rule["annotations"]["runbook_url"]
        assert url == f"docs/RUNBOOK.md#{rule['alert'].lower()}", url
        assert rule["alert"].lower() in anchors, f"docs/RUNBOOK.md has no section {rule['alert']}"


def test_the_alerts_read_only_contract_series():
    known = series_names()
    for rule in alert_rules():
        unknown = metric_names(rule["expr"]) - known
        assert not unknown, f"{rule['alert']} reads series outside the contract: {unknown}"


def test_every_alert_has_a_unit_test_where_it_fires_and_one_where_it_does_not():
    doc = yaml.safe_load(ALERTS_TEST.read_text())
    assert doc["rule_files"] == ["alerts.yml"]
    fires: set[str] = set()
    silent: set[str] = set()
    for case in doc["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    assert fires == EXPECTED_ALERTS, f"no firing case for {EXPECTED_ALERTS - fires}"
    assert silent == EXPECTED_ALERTS, f"no silent case for {EXPECTED_ALERTS - silent}"


def test_the_compose_prometheus_can_reach_every_target():
    """Each scrape target of prometheus/prometheus.yml is a compose service listening on
    that port beyond loopback (the metrics servers bind 127.0.0.1 unless told)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    ports = {
        "queuey-worker": ("worker", "QUEUEY_WORKER_METRICS_PORT"),
        "queuey-watchdog": ("watchdog", "QUEUEY_WATCHDOG_METRICS_PORT"),
    }
    for scrape in config["scrape_configs"]:
        job = scrape["job_name"]
        if job not in ports:
            continue
        service, setting = ports[job]
        env = services[service]["environment"]
        if "static_configs" in scrape:
            target_ports = {t.rsplit(":", 1)[1] for t in scrape["static_configs"][0]["targets"]}
        else:
            target_ports = {str(scrape["dns_sd_configs"][0]["port"])}
        assert target_ports == {str(env[setting])}, (job, target_ports, env[setting])
        assert env.get("QUEUEY_METRICS_ADDR") == "0.0.0.0", f"{service} listens on loopback only"
