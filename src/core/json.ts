/** A parsed JSON object whose fields are not yet validated. */
export type JsonObject = Record<string, unknown>;
