import { rmSync } from 'node:fs';

export default function teardown(): void {
  const dir = process.env.ML_PIPELINE_TEST_TMPDIR;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}
