-- Guardrails that fired on a call (docs/storage.md): a JSON array of
-- {name, kind, stage, mode, action, found, score?}; never the matched text.
-- NULL when none fired.
ALTER TABLE calls ADD COLUMN guardrails TEXT;
