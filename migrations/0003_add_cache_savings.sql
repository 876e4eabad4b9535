-- Response cache (docs/storage.md).
ALTER TABLE calls ADD COLUMN saved_usd REAL;  -- on a cache hit: what the answer would have cost upstream

CREATE INDEX IF NOT EXISTS calls_by_cache_status_ts ON calls (cache_status, ts) WHERE cache_status IS NOT NULL;
