import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markUsed, removeUnused, sha256, writeFileAtomically } from './cache-files';

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
    markUsed(file);
    return withTemplatePath(JSON.parse(content) as PolicyValidationPluginReport, templatePath);
  }

  put(templatePath: string, key: string, report: PolicyValidationPluginReport): void {
    mkdirSync(this.directory, { recursive: true });
    writeFileAtomically(this.entry(templatePath, key), JSON.stringify(withTemplatePath(report, '')));
    removeUnused(this.directory, UNUSED_FOR_MS);
  }

  private entry(templatePath: string, key: string): string {
    return join(this.directory, `${sha256(`${key}\n${readFileSync(templatePath, 'utf8')}`)}.json`);
  }
}

function withTemplatePath(report: PolicyValidationPluginReport, templatePath: string): PolicyValidationPluginReport {
  return {
    success: report.success,
    violations: report.violations.map((violation) => ({
      ...violation,
      violatingResources: violation.violatingResources.map((resource) => ({ ...resource, templatePath })),
    })),
  };
}
