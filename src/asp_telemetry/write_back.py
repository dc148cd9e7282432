"""Fill the specification's derived columns of raw.task_metadata from the marts.

`actual_cost_vector_json`, `defect_count` and `defect_density` are computed by dbt
(marts.fct_task_costs); consumers of the raw tables read them here. Only rows whose values
changed are written, so a run after a small load touches few rows.
"""

from __future__ import annotations

from pydantic import BaseModel

from asp_telemetry import connection
from asp_telemetry.connection import ConnectionInfo

# defect_density is numeric(5, 3) in the specification: a density of 100 or more does not
# fit and is left NULL (and counted) rather than clipped.
MAX_DENSITY = 99.999

WRITE_BACK_SQL = """
    with derived as (
        select
            task_id,
            jsonb_strip_nulls(jsonb_build_object(
                'latency_ms', actual_latency_ms,
                'tokens', actual_tokens,
                'tokens_in', actual_tokens_in,
                'tokens_out', actual_tokens_out,
                'api_cost_usd', actual_api_cost_usd,
                'tool_calls', tool_calls,
                'retries', retries
            )) as actual_cost_vector_json,
            defect_count,
            case when defect_density <= %(max_density)s then round(defect_density, 3) end as defect_density
        from marts.fct_task_costs
        where cost_rows > 0 or defect_count > 0
    )
    update raw.task_metadata as task
    set actual_cost_vector_json = derived.actual_cost_vector_json,
        defect_count = derived.defect_count,
        defect_density = derived.defect_density
    from derived
    where task.task_id = derived.task_id
      and (task.actual_cost_vector_json is distinct from derived.actual_cost_vector_json
           or task.defect_count is distinct from derived.defect_count
           or task.defect_density is distinct from derived.defect_density)
"""

OVERFLOW_SQL = """
    select count(*) from marts.fct_task_costs where defect_density > %(max_density)s
"""


class WriteBackResult(BaseModel):
    tasks_updated: int
    densities_too_large: int


def write_back(info: ConnectionInfo) -> WriteBackResult:
    with connection.connect(info) as conn:
        connection.require_built(conn, "marts.fct_task_costs")
        parameters = {"max_density": MAX_DENSITY}
        updated = conn.execute(WRITE_BACK_SQL, parameters).rowcount
        too_large = conn.execute(OVERFLOW_SQL, parameters).fetchone()[0]
    return WriteBackResult(tasks_updated=updated, densities_too_large=too_large)
