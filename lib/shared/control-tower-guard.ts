import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import type { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport } from 'aws-cdk-lib';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { SYNTH_CACHES } from '../contract/synth-caches';
import { GuardResultCache } from './guard-result-cache';
import { collectGuardJobs, startGuardJobs, stopGuardJobs, type GuardJob, type RunningGuardJobs } from './guard-workers';

const PLUGIN_PACKAGE = '@cdklabs/cdk-validator-cfnguard';
/** The Control Tower proactive controls as cfn-guard rules, one file per control, as the plugin ships them. */
export const CONTROL_TOWER_RULES = join(
  dirname(require.resolve(`${PLUGIN_PACKAGE}/package.json`)),
  'rules',
  'control-tower',
  'cfn-guard',
);
/** A resource type as a rule file names it. */
export const RESOURCE_TYPE = /AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g;
/** Part of every cache key: change it when what decides a report changes in this file. */
const CACHE_FORMAT = 'control-tower-guard/1';
const DEFAULT_CACHE_DIRECTORY = join(__dirname, '..', '..', SYNTH_CACHES.guardReports);

export interface ControlTowerGuardValidatorProps {
  /**
   * Where each template's report is kept (guard-result-cache.ts).
   * @default node_modules/.cache/cfn-guard
   */
  readonly cacheDirectory?: string;
  /**
   * The rule files, one control each. Only for tests: the plugin's name and rule ids stay those of the Control
   * Tower rules. @default the Control Tower rules the plugin ships
   */
  readonly rulesDirectory?: string;
}

interface RuleFile {
  /** The resource types the file names; a rule selects its resources by these. */
  readonly types: ReadonlySet<string>;
  /** Its path under the rules folder and its content, hashed: a cache key of the selection. */
  readonly hash: string;
}

/** What `start` began: a report for each template, from the cache or from running jobs. */
interface StartedWork {
  readonly key: string;
  readonly cached: ReadonlyMap<string, PolicyValidationPluginReport>;
  /** The cache key of each template that is being checked. */
  readonly keys: ReadonlyMap<string, string>;
  readonly running: RunningGuardJobs;
}

/**
 * The Control Tower rules of `@cdklabs/cdk-validator-cfnguard`, evaluated by the same plugin and the same cfn-guard
 * binary, but each template against only the rules that can apply to it, the templates in a worker thread per
 * core (guard-workers.ts), and each unchanged template only once.
 *
 * Every Control Tower rule selects the resources it checks by type (`Resources.*[ Type == 'AWS::S3::Bucket' ]`) and
 * passes when there is none, so a rule that names no type of a template cannot find anything in it. CDK's own
 * CloudFormation validation picks its rules the same way (`loadBuiltinRegoRules(resourceTypes)` in aws-cdk-lib's
 * `CloudFormationValidatePlugin`). `test/shared/control-tower-rules.test.ts` checks every bundled rule is written
 * so, and `test/app/compliance.test.ts` proves the report equal to the stock plugin's, which runs all 237 rules on
 * every template, on the sandbox templates.
 *
 * A template's report is kept in a {@link GuardResultCache} by its content and the rule files chosen for it (their
 * paths and contents, the plugin's version): an unchanged template gets the report it got before, as
 * `eslint --cache` skips unchanged files. Through {@link ControlTowerGuardValidator.startedBy} the rules run while the
 * checks registered before this one run.
 *
 * The name is the stock plugin's, so acknowledgements (`cdk-validator-cfnguard::<rule>`) and reports are unchanged.
 */
export class ControlTowerGuardValidator implements IPolicyValidationPlugin {
  readonly name: string;
  readonly version?: string;
  readonly ruleIds?: string[];
  private readonly cache: GuardResultCache;
  private readonly rulesDirectory: string;
  private ruleFiles?: ReadonlyMap<string, RuleFile>;
  /** The work `startedBy` began, or why it could not, for the templates it was given. */
  private started?: StartedWork | { readonly key: string; readonly error: unknown };

  constructor(props: ControlTowerGuardValidatorProps = {}) {
    const stock = new CfnGuardValidator();
    this.name = stock.name;
    this.version = stock.version;
    this.ruleIds = stock.ruleIds;
    this.cache = new GuardResultCache(props.cacheDirectory ?? DEFAULT_CACHE_DIRECTORY);
    this.rulesDirectory = props.rulesDirectory ?? CONTROL_TOWER_RULES;
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const key = context.templatePaths.join('\n');
    const started = this.started;
    this.started = undefined;
    if (started !== undefined && started.key !== key && 'running' in started) stopGuardJobs(started.running);
    if (started?.key === key && 'error' in started) throw started.error;
    const work = started?.key === key && 'running' in started ? started : this.start(context.templatePaths);
    const checked = collectGuardJobs(work.running);
    for (const [template, report] of checked) this.cache.put(template, work.keys.get(template) ?? '', report);
    // In the order CDK gave the templates, whichever way each report came.
    const reports = context.templatePaths.map((template) => work.cached.get(template) ?? checked.get(template));
    const violations = reports.flatMap((report) => report?.violations ?? []);
    return { success: violations.length === 0, violations };
  }

  /**
   * `plugin` as CDK sees it (same name, rules and report), except that its `validate` first starts this plugin's
   * rules on the same templates, so they run on another core beside `plugin` and every check after it, and this
   * plugin's own `validate` only collects them. Should starting fail, this plugin's `validate` reports why.
   */
  startedBy(plugin: IPolicyValidationPlugin): IPolicyValidationPlugin {
    return {
      name: plugin.name,
      version: plugin.version,
      ruleIds: plugin.ruleIds,
      validate: (context) => {
        const key = context.templatePaths.join('\n');
        try {
          this.started = this.start(context.templatePaths);
        } catch (error) {
          this.started = { key, error };
        }
        return plugin.validate(context);
      },
    };
  }

  /** Takes the reports of unchanged templates from the cache and starts the rules on the others. */
  protected start(templatePaths: readonly string[]): StartedWork {
    const cached = new Map<string, PolicyValidationPluginReport>();
    const keys = new Map<string, string>();
    const jobs: GuardJob[] = [];
    for (const template of templatePaths) {
      const rules = this.rulesFor(template);
      if (rules.length === 0) continue;
      const key = this.selectionKey(rules);
      const report = this.cache.get(template, key);
      if (report !== undefined) cached.set(template, report);
      else {
        keys.set(template, key);
        jobs.push({ template, rules });
      }
    }
    const running = startGuardJobs(require.resolve(PLUGIN_PACKAGE), jobs);
    return { key: templatePaths.join('\n'), cached, keys, running };
  }

  /** The rule files that name at least one resource type of the template, or none (none of the bundled rules). */
  private rulesFor(templatePath: string): string[] {
    const template = JSON.parse(readFileSync(templatePath, 'utf8')) as {
      Resources?: { [id: string]: { Type: string } };
    };
    const types = new Set(Object.values(template.Resources ?? {}).map((resource) => resource.Type));
    return [...this.rules()]
      .filter(([, rule]) => rule.types.size === 0 || [...rule.types].some((type) => types.has(type)))
      .map(([file]) => file);
  }

  /** What decides a report besides the template: this code's format, the plugin, and the chosen rule files. */
  private selectionKey(rules: readonly string[]): string {
    const hash = createHash('sha256').update(`${CACHE_FORMAT}\n${PLUGIN_PACKAGE}@${this.version}\n`);
    for (const file of rules) hash.update(this.rules().get(file)?.hash ?? file);
    return hash.digest('hex');
  }

  /** Every rule file with the resource types it names and its hash, read once. */
  private rules(): ReadonlyMap<string, RuleFile> {
    if (this.ruleFiles === undefined) {
      const files = new Map<string, RuleFile>();
      for (const entry of readdirSync(this.rulesDirectory, { withFileTypes: true, recursive: true })) {
        if (!entry.isFile() || !entry.name.endsWith('.guard')) continue;
        const file = join(entry.parentPath, entry.name);
        const content = readFileSync(file, 'utf8');
        const hash = createHash('sha256')
          .update(`${relative(this.rulesDirectory, file)}\n${content}`)
          .digest('hex');
        files.set(file, { types: new Set(content.match(RESOURCE_TYPE) ?? []), hash });
      }
      this.ruleFiles = new Map([...files].sort(([a], [b]) => a.localeCompare(b)));
    }
    return this.ruleFiles;
  }
}
