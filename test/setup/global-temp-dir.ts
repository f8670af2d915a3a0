/**
 * One temp folder for the whole run: everything the tests, the tools they start and the packages they load write to
 * the temp folder (tsx's cache, Node's compile cache, cloud assemblies) goes under it, and the teardown removes it, so
 * `npm test` leaves nothing in the machine's temp folder. Workers start after this and inherit TMPDIR. tsx's and
 * Node's compile caches, which the tools the tests start would rebuild on every run, live in node_modules/.cache.
 */
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** Caches that tools keep under the temp folder, kept with the project instead so the next run still has them. */
const CACHES = [`tsx-${userInfo().uid}`, 'node-compile-cache'];

export default function setup(): void {
  const dir = mkdtempSync(join(tmpdir(), 'ml-pipeline-test-'));
  for (const cache of CACHES) {
    const kept = join(__dirname, '..', '..', 'node_modules', '.cache', 'tmp', cache);
    mkdirSync(kept, { recursive: true });
    symlinkSync(kept, join(dir, cache), 'dir');
  }
  process.env.ML_PIPELINE_TEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
}
