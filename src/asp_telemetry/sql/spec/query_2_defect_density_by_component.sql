-- Verbatim from the schema specification (000_70d822c0709121cd.txt), Query 2: Defect Density by Component.
-- Runs with search_path = raw.

-- Identify error-prone components (Bootstrap Learning - B3)
SELECT
    dl.component_path,
    COUNT(*) AS defect_count,
    AVG(tm.actual_complexity) AS avg_complexity,
    COUNT(*) / NULLIF(AVG(tm.actual_complexity), 0) AS defect_density
FROM defect_log dl
JOIN task_metadata tm ON dl.task_id = tm.task_id
WHERE dl.component_path IS NOT NULL
GROUP BY dl.component_path
HAVING COUNT(*) > 2  -- At least 3 defects
ORDER BY defect_density DESC
LIMIT 10;
