-- Verbatim from the schema specification (000_70d822c0709121cd.txt), Query 3: Review Agent Effectiveness (Bootstrap Learning - B4).
-- Runs with search_path = raw.

-- Calculate True Positive, False Positive, Escape rates
WITH review_metrics AS (
    SELECT
        phase_removed,
        COUNT(*) FILTER (WHERE flagged_by_agent = TRUE AND validated_by_human = TRUE) AS true_positives,
        COUNT(*) FILTER (WHERE flagged_by_agent = TRUE AND false_positive = TRUE) AS false_positives,
        COUNT(*) FILTER (WHERE flagged_by_agent = FALSE) AS false_negatives
    FROM defect_log
    WHERE phase_removed IN ('DesignReview', 'CodeReview')
    GROUP BY phase_removed
)
SELECT
    phase_removed AS review_agent,
    true_positives,
    false_positives,
    false_negatives,
    ROUND(100.0 * true_positives / NULLIF(true_positives + false_positives, 0), 2) AS true_positive_rate_pct,
    ROUND(100.0 * false_positives / NULLIF(true_positives + false_positives, 0), 2) AS false_positive_rate_pct,
    ROUND(100.0 * false_negatives / NULLIF(true_positives + false_negatives, 0), 2) AS escape_rate_pct
FROM review_metrics;
