import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How long an entry may go unused before a write removes it. */
const UNUSED_FOR_MS = 7 * 24 * 60 * 60_000;

/**
 * The guard rules' report per template, kept by what decides it: the template's content and a key of everything
 * else (the rule files chosen for it, the plugin, the format; control-tower-guard.ts makes it). cfn-guard is
 * deterministic, so an unchanged template gets the report it got before, and a changed one is checked afresh: what
 * `eslint --cache` and `prettier --cache` do for source files, here for the templates of a synth. A report holds
 * the template's path, which is not part of its content, so it is stored without it and given the path it is read
 * for. Entries are written whole (to a temporary name, then renamed), and one unused for a week is removed.
 */
export class GuardResultCache {
  constructor(readonly directory: string) {}

  /** The report the template's content got before under the same key, if the cache has it. */
  get(templatePath: string, key: string): PolicyValidationPluginReport | undefined {
    const file = this.entry(templatePath, key);
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
    // Marked as used, so the week counts from the last use.
    const now = new Date();
    utimesSync(file, now, now);
    return withTemplatePath(JSON.parse(content) as PolicyValidationPluginReport, templatePath);
  }

  put(templatePath: string, key: string, report: PolicyValidationPluginReport): void {
    mkdirSync(this.directory, { recursive: true });
    const file = this.entry(templatePath, key);
    const temporary = `${file}.${randomUUID()}${WRITING}`;
    writeFileSync(temporary, JSON.stringify(withTemplatePath(report, '')));
    renameSync(temporary, file);
    this.removeUnused();
  }

  /** Removes entries unused for a week; another synth may be writing or removing some of them meanwhile. */
  private removeUnused(): void {
    const cutoff = Date.now() - UNUSED_FOR_MS;
    for (const name of readdirSync(this.directory)) {
      const path = join(this.directory, name);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat !== undefined && stat.mtimeMs < cutoff) rmSync(path, { force: true });
    }
  }

  private entry(templatePath: string, key: string): string {
    const hash = createHash('sha256').update(key).update('\n').update(readFileSync(templatePath)).digest('hex');
    return join(this.directory, `${hash}.json`);
  }
}

/** The suffix of an entry being written. */
const WRITING = '-writing';

function withTemplatePath(report: PolicyValidationPluginReport, templatePath: string): PolicyValidationPluginReport {
  return {
    success: report.success,
    violations: report.violations.map((violation) => ({
      ...violation,
      violatingResources: violation.violatingResources.map((resource) => ({ ...resource, templatePath })),
    })),
  };
}
