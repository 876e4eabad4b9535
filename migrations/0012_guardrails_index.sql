-- The dashboard's guardrail counts (src/admin/overview.ts) read only calls on which a
-- guardrail fired, by time.
CREATE INDEX IF NOT EXISTS calls_guarded_by_ts ON calls (ts) WHERE guardrails IS NOT NULL;
