/**
 * What the synth's caches (lambda-code.ts, guard-result-cache.ts) do with their files: write an entry whole, mark
 * one as used, and remove those unused for a while, all safe while another synth works in the same folder.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** A temporary name next to `path`, unique to this call, for an entry being written. */
export function temporaryPath(path: string): string {
  return `${path}.${randomUUID()}-writing`;
}

/** Writes `file` whole: to a temporary name, then renamed, so a reader never sees half of it. */
export function writeFileAtomically(file: string, content: string): void {
  const temporary = temporaryPath(file);
  writeFileSync(temporary, content);
  renameSync(temporary, file);
}

/** Marks entries as used now, so {@link removeUnused} counts their age from this use. */
export function markUsed(...paths: string[]): void {
  const now = new Date();
  for (const path of paths) utimesSync(path, now, now);
}

/**
 * Removes the entries of `directory` (files or folders) that `select` picks and that have gone unused for
 * `unusedForMs`. One that another synth removes meanwhile is skipped; one being written is younger than any cutoff.
 */
export function removeUnused(directory: string, unusedForMs: number, select: (name: string) => boolean = () => true) {
  const cutoff = Date.now() - unusedForMs;
  for (const name of readdirSync(directory)) {
    if (!select(name)) continue;
    const path = join(directory, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat !== undefined && stat.mtimeMs < cutoff) rmSync(path, { recursive: true, force: true });
  }
}
