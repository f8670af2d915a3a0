/**
 * The stand-in of Lambda's streaming runtime (streaming-runtime.ts) as one plain JavaScript file, for a fresh Node
 * process that loads a function bundle as the runtime does: the bench's cold starts, the bundle tests' driver.
 */
import { buildSync } from 'esbuild';
import { join } from 'node:path';

/** Writes the stand-in to `outfile` (CommonJS) and returns the path. */
export function bundleStreamingRuntime(outfile: string): string {
  buildSync({
    entryPoints: [join(__dirname, 'streaming-runtime.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}
