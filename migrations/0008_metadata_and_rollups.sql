-- Metadata tags and hourly rollups (docs/storage.md).
-- The call's tags: a JSON object (the key's configured tags merged with the caller's
-- x-gateway-metadata header), NULL when there are none. Query with json_extract.
ALTER TABLE calls ADD COLUMN metadata TEXT;

-- Tagged calls by time: a filter on a tag that also says `metadata IS NOT NULL` reads only tagged rows.
CREATE INDEX IF NOT EXISTS calls_tagged_by_ts ON calls (ts) WHERE metadata IS NOT NULL;

-- Hourly aggregates of finished hours, written by the maintenance run (src/logging/rollup.ts).
-- They outlive the raw rows (log.retention_days), so long ranges read them. Shapes (status
-- classes, histogram buckets) are defined once in src/logging/rollup-shape.ts.
CREATE TABLE IF NOT EXISTS call_hours (
  hour              TEXT NOT NULL,              -- UTC hour start, 'YYYY-MM-DDTHH:00:00.000Z' (sorts like calls.ts)
  key_id            TEXT NOT NULL DEFAULT '',   -- '' where calls.key_id is NULL (failed authentication)
  model             TEXT NOT NULL DEFAULT '',
  provider          TEXT NOT NULL DEFAULT '',
  status_class      TEXT NOT NULL,              -- '2xx' | '4xx' | '5xx' | '499' (client gone) | 'other'
  cache_status      TEXT NOT NULL DEFAULT '',
  calls             INTEGER NOT NULL,
  errors            INTEGER NOT NULL,           -- calls with an error_code (error answers, failed or abandoned streams)
  stream_cuts       INTEGER NOT NULL,           -- calls with stream_cut = 1
  prompt_tokens     INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cost_usd          REAL NOT NULL,
  saved_usd         REAL NOT NULL,
  latency_ms_sum    INTEGER NOT NULL,
  ttfb_ms_sum       INTEGER NOT NULL,
  ttfb_count        INTEGER NOT NULL,           -- calls with a ttfb_ms (the average's divisor)
  latency_hist      TEXT NOT NULL,              -- JSON array of 10 counts by latency_ms <= 50,100,200,500,1000,2000,5000,10000,30000,+inf
  PRIMARY KEY (hour, key_id, model, provider, status_class, cache_status)
);

CREATE INDEX IF NOT EXISTS call_hours_by_key ON call_hours (key_id, hour);
