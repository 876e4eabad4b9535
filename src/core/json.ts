/** JSON as parsed from a request or an upstream body. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A parsed JSON object whose fields are not yet validated. */
export type JsonObject = Record<string, unknown>;
