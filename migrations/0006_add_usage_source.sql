-- Who counted a call's tokens (docs/storage.md): 'provider' (its usage report) or
-- 'gateway' (a stream the provider reported no usage for: client gone, cut, or
-- stream_usage = false; counted from the streamed text). NULL when no tokens.
ALTER TABLE calls ADD COLUMN usage_source TEXT;
