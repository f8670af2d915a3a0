/**
 * A DuckDB in memory for the SQL tests, opened before a file's tests and closed after them, and the one way they
 * write their inputs: rows as Parquet with Glue-typed columns, as Firehose writes them.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DUCKDB_TYPES } from '../../scripts/bench-lake/lake';
import { tempDir } from '../temp-dirs';

export interface DuckDbParquet {
  /** A temporary folder of the file's own, for other files a test writes. */
  readonly dir: string;
  /** The open connection (valid inside the file's tests). */
  readonly connection: DuckDBConnection;
  /**
   * Writes `rows` as `<name>.parquet` with the given Glue-typed columns (an empty file keeps its columns) and returns
   * the file as a query source, `(SELECT * FROM read_parquet(...))`.
   */
  parquetOf(name: string, columns: readonly { name: string; type: string }[], rows: readonly object[]): Promise<string>;
}

/** Call at the top of a test file: registers the open and the close with Jest. */
export function duckDbParquet(dirName: string): DuckDbParquet {
  const dir = tempDir(dirName);
  let instance: DuckDBInstance | undefined;
  let open: DuckDBConnection | undefined;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    open = await instance.connect();
  });
  afterAll(() => {
    open?.closeSync();
    instance?.closeSync();
  });
  const connection = (): DuckDBConnection => {
    if (open === undefined) throw new Error('duckDbParquet: the connection is open only inside the tests');
    return open;
  };
  return {
    dir,
    get connection() {
      return connection();
    },
    async parquetOf(name, columns, rows) {
      const json = join(dir, `${name}.json`);
      writeFileSync(json, rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
      const types = columns
        .map((c) => `"${c.name}": '${DUCKDB_TYPES[c.type as keyof typeof DUCKDB_TYPES]}'`)
        .join(', ');
      const parquet = join(dir, `${name}.parquet`);
      await connection().run(
        `COPY (SELECT * FROM read_json('${json}', format = 'newline_delimited', columns = {${types}}))
         TO '${parquet}' (FORMAT PARQUET, COMPRESSION SNAPPY)`,
      );
      return `(SELECT * FROM read_parquet('${parquet}'))`;
    },
  };
}
