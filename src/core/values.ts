/** Small value guards the Durable Objects and config merges share. */

/** A finite positive number, else 0 (stored times and amounts that must not go negative or NaN). */
export function positiveOrZero(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** The object's fields that are set: a partial override spread over defaults must not erase them with undefined. */
export function definedFields<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
