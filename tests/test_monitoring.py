"""deploy/grafana/namecase.json and deploy/prometheus/alerts.yml use only what /metrics exports.

The metric names come from a real scrape of the running app, so a renamed or removed metric
fails here instead of leaving an empty panel or an alert that can never fire.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from conftest import make_settings
from namecase.app import create_app
from support.servers import serve

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "namecase.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
# Series Prometheus itself adds to every scrape target.
PROMETHEUS_OWN = {"up"}
METRIC = re.compile(r"\b(namecase_[a-z0-9_]+|up)\b")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}


def dashboard_expressions() -> Iterator[str]:
    panels: list[dict[str, Any]] = json.loads(DASHBOARD.read_text())["panels"]
    for panel in panels:
        for target in panel.get("targets", []):
            yield str(target["expr"])


def alert_expressions() -> Iterator[str]:
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            yield str(rule["expr"])


def used_metrics(expressions: Iterator[str]) -> set[str]:
    # Drop label matchers and their quoted values first: a value may look like a metric name.
    names: set[str] = set()
    for expression in expressions:
        names |= set(METRIC.findall(re.sub(r"\{[^}]*\}", "", expression)))
    return names


async def exported_series(database_url: str) -> set[str]:
    """Every series name the app's /metrics can carry, from the scrape's HELP/TYPE lines."""
    settings = make_settings(database_url)
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as client:
        text = (await client.get("/metrics")).text
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


async def test_every_metric_the_dashboard_uses_is_exported(pg_database_url: str) -> None:
    used = used_metrics(dashboard_expressions())
    assert {"namecase_events_received_total", "namecase_event_to_update_seconds_bucket"} <= used
    missing = used - await exported_series(pg_database_url) - PROMETHEUS_OWN
    assert not missing, f"the dashboard queries metrics /metrics does not export: {missing}"


async def test_every_metric_the_alerts_use_is_exported(pg_database_url: str) -> None:
    used = used_metrics(alert_expressions())
    assert {"namecase_inbox_items", "namecase_rest_calls_total"} <= used
    missing = used - await exported_series(pg_database_url) - PROMETHEUS_OWN
    assert not missing, f"the alerts use metrics /metrics does not export: {missing}"


async def test_metrics_still_answer_when_the_database_cannot_be_read(tmp_path: Path) -> None:
    # An unmigrated database: the gauges cannot be read, and the scrape says so instead of a 500.
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    async with serve(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as client:
        scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    assert "namecase_database_scrape_ok 0.0" in scrape.text
    assert "namecase_events_received_total" in scrape.text


def test_the_dashboard_covers_what_an_operator_watches() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    titles = " | ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in (
        "events received",
        "inbox depth",
        "latency",
        "rest calls",
        "503",
        "refreshes",
        "portals by state",
        "heartbeats",
    ):
        assert topic in titles, f"no panel about {topic}"
    # Importable anywhere: the data source is a variable the importer picks.
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert dashboard["uid"] == "namecase"


def test_the_dashboard_panels_fit_the_grid_without_overlapping() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    taken: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells
        for target in panel.get("targets", []):
            assert target["expr"].strip() and target["refId"]


def test_every_alert_has_a_threshold_severity_and_description() -> None:
    rules = [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]
    names = {rule["alert"] for rule in rules}
    for wanted in (
        "NamecaseDeadItems",
        "NamecaseInboxGrowing",
        "NamecaseWorkerSilent",
        "NamecasePortalsAuthFailedRising",
        "NamecasePortalsPaymentRequiredRising",
        "NamecaseRest503s",
        "NamecaseEventToUpdateSlow",
    ):
        assert wanted in names
    for rule in rules:
        assert re.search(r"[<>]=?|==", rule["expr"]), f"{rule['alert']} has no threshold"
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert len(rule["annotations"]["description"]) > 40
        assert rule["annotations"]["summary"]


def _promtool() -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed: apt-get install prometheus")
    return promtool


def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    promtool = _promtool()
    for command in (["check", "rules", str(ALERTS)], ["check", "config", str(PROMETHEUS_CONFIG)]):
        result = subprocess.run(
            [promtool, *command], capture_output=True, text=True, check=False, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_each_alert_fires_at_its_threshold_and_not_below() -> None:
    result = subprocess.run(
        [_promtool(), "test", "rules", "alerts.test.yml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ALERTS.parent,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"alertname: (\w+)", (ALERTS.parent / "alerts.test.yml").read_text()))
    assert tested == {
        rule["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for rule in g["rules"]
    }
