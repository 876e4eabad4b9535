-- The call log: exactly one row per call the gateway answered, rejected calls included.
-- Columns are documented in docs/storage.md. Prompts and completions are never stored.
CREATE TABLE IF NOT EXISTS calls (
  request_id        TEXT PRIMARY KEY,             -- x-request-id of the response; inserts are idempotent on it
  ts                TEXT NOT NULL,                -- arrival time, ISO 8601 UTC (sorts as text)
  key_id            TEXT,                         -- caller key id from config; NULL when authentication failed
  endpoint          TEXT NOT NULL,                -- chat.completions | completions | embeddings | models | ...
  model             TEXT,                         -- model the caller asked for (alias or provider/model)
  provider          TEXT,                         -- provider that served (or last failed)
  upstream_model    TEXT,                         -- model id sent to that provider
  stream            INTEGER NOT NULL DEFAULT 0,   -- 1 for SSE responses
  status            INTEGER NOT NULL,             -- HTTP status sent; 499 = client went away first
  error_code        TEXT,                         -- OpenAI-shaped error code, NULL on success
  stream_cut        INTEGER NOT NULL DEFAULT 0,   -- 1 when a started stream did not end properly
  latency_ms        INTEGER NOT NULL,             -- arrival to last byte
  ttfb_ms           INTEGER,                      -- arrival to the upstream's first byte
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  attempts          INTEGER NOT NULL DEFAULT 0,   -- upstream calls made
  cache_status      TEXT,                         -- filled by the cache (HIT, MISS, BYPASS, ...)
  cost_usd          REAL                          -- filled from the price table
);

CREATE INDEX IF NOT EXISTS calls_by_ts ON calls (ts);
CREATE INDEX IF NOT EXISTS calls_by_key_ts ON calls (key_id, ts);
CREATE INDEX IF NOT EXISTS calls_by_model_ts ON calls (model, ts);
CREATE INDEX IF NOT EXISTS calls_errors_by_ts ON calls (ts) WHERE status >= 400;
