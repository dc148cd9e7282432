"""prefect.yaml's entrypoint for the `retention` flow, which lives in asp_telemetry.flows.retention.

A run started from this file uses the project this file belongs to, unless ASP_PROJECT_DIR
names another: a team's copy made by `asp-telemetry init` builds its own models."""

from asp_telemetry.flows.retention import retention
from asp_telemetry.paths import use_project_of

use_project_of(__file__)

__all__ = ["retention"]
