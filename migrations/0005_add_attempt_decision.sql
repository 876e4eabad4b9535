-- Routing decisions in the attempts table (docs/storage.md).
ALTER TABLE attempts ADD COLUMN decision TEXT;  -- NULL = a usual attempt; probe | panic | skipped_breaker | skipped_backoff

CREATE INDEX IF NOT EXISTS attempts_decided_by_ts ON attempts (ts) WHERE decision IS NOT NULL;
