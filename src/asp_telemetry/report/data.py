"""What the dashboard shows, read from the marts (and only the marts)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from asp_telemetry import connection
from asp_telemetry.connection import ConnectionInfo

QUERIES: dict[str, str] = {
    "cost_by_role": """
        select agent_role, tasks_executed, total_cost_usd, avg_latency_ms, total_tokens,
               tasks_executed_30d, total_cost_usd_30d
        from marts.mart_cost_by_agent_role
        order by total_cost_usd desc
    """,
    "daily_role_costs": """
        select execution_date, agent_role, sum(total_cost_usd) as total_cost_usd
        from marts.fct_daily_role_costs
        group by execution_date, agent_role
        order by execution_date, agent_role
    """,
    "probe_dataset": """
        select task_id, proxy, actual_api_cost_usd
        from marts.mart_probe_dataset
        order by proxy
    """,
    "probe_model": """
        select target, n, x_avg, sxx, beta0, beta1, r_squared, sigma
        from marts.mart_probe_model
    """,
    "injection_removal": """
        select phase_injected, phase_removed, defect_count, avg_fix_tokens
        from marts.mart_defect_injection_removal
    """,
    "phase_yield": """
        select phase, phase_order, injected, removed, escaped_into, phase_yield_pct
        from marts.mart_phase_yield
        order by phase_order
    """,
    "process_yield": """
        select process_yield_pct, real_defects, removed_before_failure
        from marts.mart_process_yield
    """,
    "review_effectiveness": """
        select review_phase, true_positives, false_positives, false_negatives,
               precision_pct, recall_pct, escape_rate_pct, yield_pct
        from marts.mart_review_effectiveness
        order by review_phase
    """,
    "bootstrap_status": """
        select capability_name, capability_mode, tasks_completed, tasks_required_for_graduation,
               primary_metric_name, primary_metric_value, primary_metric_target, direction,
               status_indicator, measured_at
        from marts.mart_bootstrap_status
        order by capability_name
    """,
    "components": """
        select component_path, defect_count, avg_complexity, defect_density, error_prone
        from marts.mart_defect_density_by_component
        order by defect_count desc, component_path
        limit 15
    """,
    "cost_of_quality": """
        select project_id, tasks, appraisal_coq_pct, failure_coq_pct, coq_pct, af_ratio,
               appraisal_cost_pct, failure_cost_pct, coq_cost_pct, af_cost_ratio
        from marts.mart_cost_of_quality
        order by project_id = '(all)' desc, project_id
    """,
    "cost_of_quality_weekly": """
        select project_id, week_start, tasks, coq_pct, appraisal_coq_pct, failure_coq_pct, af_ratio,
               coq_cost_pct, af_cost_ratio
        from marts.mart_cost_of_quality_weekly
        order by week_start, project_id
    """,
    "phase_quality": """
        select phase, phase_order, phase_class, effort_ms, effort_usd, defects_injected, defects_removed,
               injection_rate_per_hour, removal_rate_per_hour, removal_rate_per_usd, drl
        from marts.mart_phase_quality
        order by phase_order
    """,
    "coverage": """
        select
            (select min(execution_date) from marts.fct_daily_role_costs) as first_day,
            (select max(execution_date) from marts.fct_daily_role_costs) as last_day,
            (select count(*) from marts.fct_task_costs) as tasks,
            (select coalesce(sum(executions), 0) from marts.fct_daily_role_costs) as executions,
            (select count(*) from marts.fct_defects) as defects,
            (select coalesce(sum(total_cost_usd), 0) from marts.fct_daily_role_costs) as cost_usd,
            (select coalesce(sum(cost_from_prices_usd), 0) from marts.fct_daily_role_costs) as cost_from_prices_usd,
            (select coalesce(sum(unpriced_executions), 0) from marts.fct_daily_role_costs) as unpriced_executions
    """,
}


class Coverage(BaseModel):
    first_day: date | None
    last_day: date | None
    tasks: int
    executions: int
    defects: int
    cost_usd: Decimal = Decimal(0)
    cost_from_prices_usd: Decimal = Decimal(0)
    unpriced_executions: int = 0

    def cost_line(self) -> str:
        """'$12.34 in all, 40.0% of it priced from tokens; 3 executions without a cost'."""
        share = f"{100 * self.cost_from_prices_usd / self.cost_usd:.1f}%" if self.cost_usd else "none"
        line = f"${self.cost_usd:,.2f} in all, {share} of it priced from tokens"
        if self.unpriced_executions:
            line += f"; {self.unpriced_executions:,} executions without a cost (asp-telemetry prices)"
        return line


class ReportData(BaseModel):
    built: bool  # False when the marts do not exist yet
    database: str
    coverage: Coverage | None
    tables: dict[str, list[dict[str, Any]]]

    @property
    def empty(self) -> bool:
        return self.coverage is None or (self.coverage.tasks == 0 and self.coverage.defects == 0)


def read(info: ConnectionInfo) -> ReportData:
    with connection.connect(info) as conn:
        built = connection.relation_exists(conn, "marts.mart_bootstrap_status")
        if not built:
            return ReportData(built=False, database=info.describe(), coverage=None, tables={})
        tables = {}
        for name, query in QUERIES.items():
            cursor = conn.execute(query)
            columns = [column.name for column in cursor.description]
            tables[name] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    coverage = Coverage(**tables.pop("coverage")[0])
    return ReportData(built=True, database=info.describe(), coverage=coverage, tables=tables)
