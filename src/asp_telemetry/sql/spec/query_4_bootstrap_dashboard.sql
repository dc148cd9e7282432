-- Verbatim from the schema specification (000_70d822c0709121cd.txt), Query 4: Bootstrap Dashboard Data.
-- Runs with search_path = raw.

-- Get current status of all bootstrap capabilities
SELECT
    capability_name,
    capability_mode,
    tasks_completed,
    tasks_required_for_graduation,
    primary_metric_name,
    primary_metric_value,
    primary_metric_target,
    CASE
        WHEN graduation_criteria_met THEN 'Ready to Graduate'
        WHEN primary_metric_value <= primary_metric_target THEN 'On Track'
        ELSE 'Needs Improvement'
    END AS status_indicator
FROM (
    SELECT DISTINCT ON (capability_name) *
    FROM bootstrap_metrics
    ORDER BY capability_name, measured_at DESC
) latest_metrics
ORDER BY capability_name;
