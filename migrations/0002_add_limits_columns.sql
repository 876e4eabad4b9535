-- Limits and pricing (docs/storage.md).
ALTER TABLE calls ADD COLUMN cached_tokens INTEGER;   -- prompt tokens served from the provider's prompt cache
ALTER TABLE calls ADD COLUMN limit_status TEXT;       -- admitted | rejected | unavailable_open | unavailable_closed; NULL = key has no limits
ALTER TABLE calls ADD COLUMN limited_by TEXT;         -- the rule that refused the call, e.g. requests:10s, spend:day

CREATE INDEX IF NOT EXISTS calls_limited_by_ts ON calls (ts) WHERE limit_status = 'rejected';
