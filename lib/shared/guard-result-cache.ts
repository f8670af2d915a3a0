import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** How long an entry may go unused before a write removes it. */
const UNUSED_FOR_MS = 7 * 24 * 60 * 60_000;

/**
 * The guard rules' report per template, kept by what decides it: the template's content and the rules (their
 * files, the plugin and its cfn-guard binary, all in `rules`). cfn-guard is deterministic, so an unchanged template
 * gets the report it got before, and a changed one is checked afresh: what `eslint --cache` and
 * `prettier --cache` do for source files, here for the templates of a synth. A report holds the template's path,
 * which is not part of its content, so it is stored without it and given the path it is read for.
 */
export class GuardResultCache {
  constructor(
    readonly directory: string,
    /** A fingerprint of everything besides the template that decides a report. */
    private readonly rules: string,
  ) {}

  /** The report the template's content got before, if the cache has it. */
  get(templatePath: string): PolicyValidationPluginReport | undefined {
    const file = this.entry(templatePath);
    if (!existsSync(file)) return undefined;
    const now = new Date();
    utimesSync(file, now, now);
    const report = JSON.parse(readFileSync(file, 'utf8')) as PolicyValidationPluginReport;
    return withTemplatePath(report, templatePath);
  }

  put(templatePath: string, report: PolicyValidationPluginReport): void {
    mkdirSync(this.directory, { recursive: true });
    const file = this.entry(templatePath);
    const temporary = `${file}.${process.pid}-writing`;
    writeFileSync(temporary, JSON.stringify(withTemplatePath(report, '')));
    renameSync(temporary, file);
    const cutoff = Date.now() - UNUSED_FOR_MS;
    for (const name of readdirSync(this.directory)) {
      const path = join(this.directory, name);
      if (statSync(path).mtimeMs < cutoff) rmSync(path, { force: true });
    }
  }

  private entry(templatePath: string): string {
    const key = createHash('sha256').update(this.rules).update('\n').update(readFileSync(templatePath)).digest('hex');
    return join(this.directory, `${key}.json`);
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
