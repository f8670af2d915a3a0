/**
 * Reading the files the tools pass between each other: the producer's NDJSON (one JSON record per line), which
 * `npm run predict -- --file` scores and `npm run ingest -- --from` sends again.
 */
import { readFileSync } from 'node:fs';
import { ToolError } from './cli';

/** A file's text; an unreadable path is a message naming the option and the fix, not an ENOENT stack trace. */
export function readTextFile(path: string, option: string, expected: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : error instanceof Error
            ? error.message
            : String(error);
    throw new ToolError(`Cannot read ${option} ${path}: ${why}. Pass the path of ${expected}.`);
  }
}

export interface NdjsonLine {
  readonly value: unknown;
  /** 1-based line number in the file, for messages. */
  readonly number: number;
}

/** The parsed non-empty lines of NDJSON text; a line that is not JSON is a message naming the file and line. */
export function parseNdjson(path: string, text: string): NdjsonLine[] {
  return text
    .split(/\r?\n/)
    .map((line, index) => ({ line: line.trim(), number: index + 1 }))
    .filter(({ line }) => line !== '')
    .map(({ line, number }) => {
      try {
        return { value: JSON.parse(line) as unknown, number };
      } catch (error) {
        throw new ToolError(
          `${path} line ${number} is not valid JSON (${error instanceof Error ? error.message : String(error)}). ` +
            'An NDJSON file holds one JSON record object per line.',
        );
      }
    });
}
