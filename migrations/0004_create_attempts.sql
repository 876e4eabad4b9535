-- Every upstream attempt of a call (retries and failovers), docs/storage.md.
CREATE TABLE IF NOT EXISTS attempts (
  request_id  TEXT NOT NULL,             -- the call (calls.request_id)
  n           INTEGER NOT NULL,          -- 1-based order within the call
  ts          TEXT NOT NULL,             -- the call's arrival time (as calls.ts), for time-bounded queries
  provider    TEXT NOT NULL,
  model       TEXT NOT NULL,             -- upstream model id
  status      INTEGER,                   -- upstream HTTP status; NULL when none came (network error, timeout, simulated)
  error_code  TEXT,                      -- NULL when this attempt served the call
  latency_ms  INTEGER NOT NULL,          -- attempt start to its outcome
  wait_ms     INTEGER NOT NULL DEFAULT 0,-- backoff waited before it
  PRIMARY KEY (request_id, n)
);

CREATE INDEX IF NOT EXISTS attempts_by_provider_ts ON attempts (provider, ts);
