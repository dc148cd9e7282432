-- Verbatim from the schema specification (000_70d822c0709121cd.txt), Query 1: PROBE-AI Estimation Data.
-- Runs with search_path = raw.

-- Get historical data for PROBE-AI linear regression
SELECT
    tm.task_id,
    tm.estimated_complexity AS proxy,
    tm.actual_complexity,
    SUM(CASE WHEN acv.metric_type = 'Latency' THEN acv.metric_value ELSE 0 END) AS actual_latency_ms,
    SUM(CASE WHEN acv.metric_type = 'Tokens_In' THEN acv.metric_value ELSE 0 END) +
    SUM(CASE WHEN acv.metric_type = 'Tokens_Out' THEN acv.metric_value ELSE 0 END) AS actual_tokens,
    SUM(CASE WHEN acv.metric_type = 'API_Cost' THEN acv.metric_value ELSE 0 END) AS actual_api_cost_usd
FROM task_metadata tm
JOIN agent_cost_vector acv ON tm.task_id = acv.task_id
WHERE tm.status = 'completed'
  AND tm.actual_complexity IS NOT NULL
GROUP BY tm.task_id, tm.estimated_complexity, tm.actual_complexity
ORDER BY tm.created_at DESC
LIMIT 30;
