-- Verbatim from the schema specification (000_70d822c0709121cd.txt), Query 5: Cost Analysis by Agent Role.
-- Runs with search_path = raw.

-- Track spending by agent role for budget monitoring
SELECT
    agent_role,
    COUNT(DISTINCT task_id) AS tasks_executed,
    SUM(CASE WHEN metric_type = 'API_Cost' THEN metric_value ELSE 0 END) AS total_cost_usd,
    AVG(CASE WHEN metric_type = 'Latency' THEN metric_value ELSE NULL END) AS avg_latency_ms,
    SUM(CASE WHEN metric_type = 'Tokens_In' THEN metric_value ELSE 0 END) +
    SUM(CASE WHEN metric_type = 'Tokens_Out' THEN metric_value ELSE 0 END) AS total_tokens
FROM agent_cost_vector
WHERE timestamp >= NOW() - INTERVAL '30 days'
GROUP BY agent_role
ORDER BY total_cost_usd DESC;
