-- Verbatim from the schema specification (000_70d822c0709121cd.txt), its four 'Sample Data' blocks.
-- Runs with search_path = raw.

INSERT INTO agent_cost_vector (task_id, agent_role, metric_type, metric_value, metric_unit, llm_model, llm_provider) VALUES
('TASK-001', 'Planning', 'Latency', 2150.50, 'ms', 'claude-sonnet-4', 'anthropic'),
('TASK-001', 'Planning', 'Tokens_In', 5240, 'tokens', 'claude-sonnet-4', 'anthropic'),
('TASK-001', 'Planning', 'Tokens_Out', 1820, 'tokens', 'claude-sonnet-4', 'anthropic'),
('TASK-001', 'Planning', 'API_Cost', 0.0382, 'USD', 'claude-sonnet-4', 'anthropic'),
('TASK-001', 'Design', 'Latency', 3850.25, 'ms', 'claude-sonnet-4', 'anthropic'),
('TASK-001', 'Design', 'Tool_Calls', 3, 'count', 'claude-sonnet-4', 'anthropic');

INSERT INTO defect_log (
    defect_id, task_id, defect_type, phase_injected, phase_removed,
    component_path, description, effort_to_fix_json,
    flagged_by_agent, validated_by_human, false_positive
) VALUES
(
    'D-001',
    'TASK-001',
    '5_Security_Vulnerability',
    'Code',
    'CodeReview',
    'src/auth/login.py',
    'SQL injection vulnerability - used string concatenation instead of parameterized query',
    '{"latency_ms": 1250, "tokens": 850, "api_cost_usd": 0.015, "retries": 1}',
    TRUE,   -- Code Review Agent found it
    TRUE,   -- Human confirmed it's real
    FALSE   -- Not a false positive
),
(
    'D-002',
    'TASK-001',
    '4_Hallucination',
    'Code',
    'Test',
    'src/utils/helpers.py',
    'Agent imported non-existent library "data_transformer_v2" that does not exist',
    '{"latency_ms": 3200, "tokens": 1500, "api_cost_usd": 0.028, "retries": 2}',
    FALSE,  -- Test Agent found it (not caught in Code Review)
    TRUE,   -- Human confirmed
    FALSE
);

INSERT INTO task_metadata (
    task_id, project_id, task_type, task_description,
    estimated_complexity, semantic_units_json,
    estimated_cost_vector_json, components_affected,
    bootstrap_phase, status
) VALUES
(
    'TASK-001',
    'ASP-Platform',
    'authentication',
    'Implement user login with JWT tokens and session management',
    18,
    '{"semantic_units": [
        {"unit_id": "SU-001", "description": "Create JWT token generation function", "est_complexity": 8},
        {"unit_id": "SU-002", "description": "Implement session storage with Redis", "est_complexity": 10}
    ]}',
    '{"latency_ms": 35000, "tokens": 88000, "api_cost_usd": 0.14}',
    ARRAY['src/auth/login.py', 'src/auth/jwt.py', 'src/session/redis_store.py'],
    'Learning',
    'in_progress'
);

INSERT INTO bootstrap_metrics (
    capability_name, capability_mode, tasks_completed, tasks_required_for_graduation,
    primary_metric_name, primary_metric_value, primary_metric_target,
    secondary_metrics_json, graduation_criteria_met, measurement_period_start, measurement_period_end
) VALUES
(
    'PROBE_AI',
    'Shadow',
    15,
    20,
    'MAPE',
    18.2,
    20.0,
    '{"r_squared": 0.73, "confidence_interval_avg": 0.35}',
    FALSE,
    NOW() - INTERVAL '15 days',
    NOW()
),
(
    'ReviewAgent_Code',
    'Learning',
    8,
    20,
    'True_Positive_Rate',
    85.0,
    80.0,
    '{"false_positive_rate": 15.0, "escape_rate": 8.0}',
    FALSE,  -- True Positive is good, but not enough tasks yet
    NOW() - INTERVAL '8 days',
    NOW()
);
