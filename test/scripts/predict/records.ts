/** Input for the predict tests: full events as the ingest producer writes them, and files of them. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_TRANSACTION_FEATURES } from '../../../lib/schema/feature-schema';

/** A full event as the ingest producer writes it: ids, event time, the features and the label. */
export const event = (n: number, amount: number, isFraud: boolean) => ({
  transaction_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  customer_id: `customer-${n}`,
  event_time: 1_767_225_600_000 + n,
  ...EXAMPLE_TRANSACTION_FEATURES,
  amount,
  is_fraud: isFraud,
});

export const ndjson = (values: readonly unknown[]) => values.map((value) => JSON.stringify(value)).join('\n') + '\n';

export interface TempFiles {
  /** The path of a file in the folder, whether or not it exists. */
  path(name: string): string;
  /** Writes a file in the folder and returns its path. */
  write(name: string, content: string): string;
}

/** A folder for the test file's inputs, made in beforeAll and removed in afterAll. */
export function useTempFiles(): TempFiles {
  let dir: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'predict-'));
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  const path = (name: string) => {
    if (dir === undefined) throw new Error('The folder is made in beforeAll; use it inside a test');
    return join(dir, name);
  };
  return {
    path,
    write: (name, content) => {
      const file = path(name);
      writeFileSync(file, content);
      return file;
    },
  };
}
