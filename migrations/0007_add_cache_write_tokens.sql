-- Prompt-cache writes (docs/storage.md): prompt tokens the provider wrote to its
-- prompt cache (Anthropic's cache_creation_input_tokens), priced at
-- cache_write_input_per_mtok. Part of prompt_tokens, like cached_tokens. NULL when
-- the provider does not report them.
ALTER TABLE calls ADD COLUMN cache_write_tokens INTEGER;
