-- Seeds are part of the project digest (0010), so a planned build after a seed was edited
-- builds everything, but incrementally: the rows of an incremental model that were not
-- recomputed keep what the old seed gave them (int_task_week_effort keeps a role's old
-- phase_class). The digest of each seed file the build built lets the next planned build
-- name the seeds that changed and fully refresh the incremental models downstream of them
-- only (build_plan.py). Builds noted before this migration have none: which seeds changed
-- since is unknown, and the first planned build after it refreshes nothing in full for a
-- seed (a full refresh loses the history of raw weeks a retention policy dropped).
alter table raw.builds add column seed_digests jsonb;
comment on column raw.builds.seed_digests is
    'sha256 of each seed file the build built, by seed name (null: noted before migration 0013, unknown).';
