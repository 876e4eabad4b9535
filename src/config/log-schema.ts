import { z } from 'zod';

/**
 * The call log's settings (`log`), and metadata tags (a key's `metadata`, and the
 * caller's x-gateway-metadata header, which src/logging/metadata.ts checks against
 * the same schema). docs/configuration.md, "Log".
 */

export const METADATA_MAX_BYTES = 1024;
export const METADATA_MAX_TAGS = 16;

/** Tag names are plain words, so `json_extract(metadata, '$.<name>')` needs no quoting. */
export const TAG_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const TAG_NAME_RULE = 'tag names must be 1-64 letters, digits, _ or -, starting with a letter';

export const MetadataSchema = z
  .record(z.string().regex(TAG_NAME), z.union([z.string(), z.number(), z.boolean()], { error: 'tag values must be strings, numbers or booleans' }), {
    error: (issue) => (issue.code === 'invalid_key' ? TAG_NAME_RULE : undefined),
  })
  .refine((tags) => Object.keys(tags).length <= METADATA_MAX_TAGS, `must have at most ${METADATA_MAX_TAGS} tags`)
  .refine((tags) => new TextEncoder().encode(JSON.stringify(tags)).length <= METADATA_MAX_BYTES, `must be at most ${METADATA_MAX_BYTES} bytes of JSON`);

export type Metadata = z.infer<typeof MetadataSchema>;

/** An operator's redaction pattern: a JavaScript regular expression, short enough to stay cheap. */
const redactPattern = z
  .string()
  .min(1)
  .max(256)
  .refine((source) => {
    try {
      return !new RegExp(source).test('');
    } catch {
      return false;
    }
  }, 'must be a valid JavaScript regular expression that does not match the empty string');

export const LogSettingsSchema = z.strictObject({
  /** Calls written in one D1 statement at most (their attempts go in a second one, same batch). */
  batch_size: z.number().int().min(1).max(100).default(50),
  /** How long a row may wait for others before its batch is written. */
  flush_ms: z.number().int().min(0).max(10_000).default(10),
  /** Raw calls, attempts and payloads older than this are deleted by the maintenance run; rollups are kept. */
  retention_days: z.number().int().min(1).max(3650).default(30),
  /** Patterns redacted from payload logs, besides the built-in credential shapes. */
  redact_patterns: z.array(redactPattern).max(32).default([]),
  /** A payload log document larger than this has its request and answer truncated. */
  payload_max_bytes: z.number().int().min(4096).max(16 * 1024 * 1024).default(1024 * 1024),
});

export type LogSettings = z.infer<typeof LogSettingsSchema>;
