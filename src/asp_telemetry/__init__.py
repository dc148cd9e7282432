"""asp-telemetry: telemetry and PSP analytics for AI-agent software pipelines."""

__version__ = "0.1.0"
