/** Checks on values of unknown shape: parsed JSON, from the user or from the API, and caught errors. */

export const typeName = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));
