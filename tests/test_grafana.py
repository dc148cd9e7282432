"""The Grafana dashboard: every panel's SQL runs against built marts as asp_reader (who can
read nothing else), and the data source connects as that role."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from support import PROJECT_DIR

from asp_telemetry import connection

GRAFANA = PROJECT_DIR / "dashboards" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))


def _targets() -> list[tuple[str, str]]:
    found = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                found.append((f"{path.name}: {panel['title']}", target["rawSql"]))
    return found


def _expand_grafana_macros(sql: str) -> str:
    """The macros the panels use, as Grafana's PostgreSQL data source expands them (last 10 years)."""
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)",
                 r"\1 between now() - interval '3650 days' and now() + interval '1 day'", sql)
    sql = sql.replace("$__timeFrom()", "(now() - interval '3650 days')").replace("$__timeTo()", "now()")
    assert "$__" not in sql, f"a Grafana macro this test does not expand: {sql}"
    return sql


def test_there_are_panels():
    assert DASHBOARDS and len(_targets()) >= 8


@pytest.mark.parametrize(("panel", "sql"), _targets(), ids=[name for name, _ in _targets()])
def test_each_panel_queries_only_the_marts_and_returns_rows(analytics_db, panel, sql):
    relations = re.findall(r"\b(?:from|join)\s+([a-z_]+)\.([a-z_]+)", sql, flags=re.IGNORECASE)
    assert relations and all(schema == "marts" for schema, _ in relations), relations
    with connection.connect(analytics_db) as conn:
        conn.execute("set role asp_reader")
        cursor = conn.execute(_expand_grafana_macros(sql))
        rows = cursor.fetchall()
    assert cursor.description, panel
    assert rows, f"{panel} returned no rows on generated data"


def test_the_data_source_connects_as_the_reader_to_postgresql():
    provisioning = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "asp-telemetry.yaml").read_text())
    [source] = provisioning["datasources"]
    assert source["type"] == "grafana-postgresql-datasource"
    assert source["uid"] == "asp-telemetry-marts"
    assert "${ASP_GRAFANA_DB_PASSWORD}" == source["secureJsonData"]["password"]
    uids = {target["datasource"]["uid"] for path in DASHBOARDS
            for panel in json.loads(path.read_text())["panels"] for target in panel["targets"]}
    assert uids == {source["uid"]}


def test_dbt_exposures_declare_every_mart_the_dashboards_read():
    exposures = {e["name"]: e for e in yaml.safe_load(
        (PROJECT_DIR / "models" / "marts" / "_marts__exposures.yml").read_text())["exposures"]}
    declared = {ref.removeprefix("ref('").removesuffix("')") for ref in exposures["grafana_dashboard"]["depends_on"]}
    used = {name for _, sql in _targets() for name in re.findall(r"\bmarts\.([a-z_]+)", sql)}
    assert used == declared
    from asp_telemetry.report.data import QUERIES

    report_used = {name for sql in QUERIES.values() for name in re.findall(r"\bmarts\.([a-z_]+)", sql)}
    report_declared = {ref.removeprefix("ref('").removesuffix("')") for ref in exposures["html_report"]["depends_on"]}
    assert report_used == report_declared


def _provisioned(environment: dict[str, str]) -> dict:
    """The data source as Grafana reads it: the YAML parsed, then ${VAR} in each value
    replaced from Grafana's environment."""
    text = (GRAFANA / "provisioning" / "datasources" / "asp-telemetry.yaml").read_text()
    assert set(re.findall(r"\$\{([A-Z_]+)\}", text)) == set(environment)

    def expand(value):
        if isinstance(value, dict):
            return {key: expand(item) for key, item in value.items()}
        if isinstance(value, list):
            return [expand(item) for item in value]
        if isinstance(value, str):
            return re.sub(r"\$\{([A-Z_]+)\}", lambda match: environment[match[1]], value)
        return value

    [source] = expand(yaml.safe_load(text))["datasources"]
    return source


def test_the_provisioned_data_source_reaches_the_marts_over_tcp_as_the_readme_says(analytics_db, tcp_address):
    """README, Dashboards: `grant-login asp_reader grafana`, then ASP_GRAFANA_DB_* in Grafana's
    environment, against `db start --listen` (or any server)."""
    import uuid

    import psycopg

    from asp_telemetry import roles

    user, password = f"grafana_{uuid.uuid4().hex[:8]}", "Grafana's pw: 100% @ /"
    roles.grant_login(analytics_db, "asp_reader", user, password)
    try:
        host, port = tcp_address
        source = _provisioned({
            "ASP_GRAFANA_DB_HOST": host, "ASP_GRAFANA_DB_PORT": str(port), "ASP_GRAFANA_DB_NAME": analytics_db.dbname,
            "ASP_GRAFANA_DB_USER": user, "ASP_GRAFANA_DB_PASSWORD": password, "ASP_GRAFANA_DB_SSLMODE": "disable",
        })
        address, _, source_port = source["url"].rpartition(":")
        with psycopg.connect(host=address, port=int(source_port), dbname=source["jsonData"]["database"],
                             user=source["user"], password=source["secureJsonData"]["password"],
                             sslmode=source["jsonData"]["sslmode"], connect_timeout=10,
                             passfile="/nonexistent") as conn:
            assert conn.execute("select current_user").fetchone()[0] == user
            for panel, panel_sql in _targets():
                assert conn.execute(_expand_grafana_macros(panel_sql)).fetchall(), panel
    finally:
        roles.revoke_login(analytics_db, user)
