/**
 * One temp folder for the whole run: everything the tests, the tools they start and the packages they load write to
 * the temp folder (tsx's cache, Node's compile cache, cloud assemblies) goes under it, and the teardown removes it, so
 * `npm test` leaves nothing in the machine's temp folder. Workers start after this and inherit TMPDIR.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): void {
  const dir = mkdtempSync(join(tmpdir(), 'ml-pipeline-test-'));
  process.env.ML_PIPELINE_TEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
}
