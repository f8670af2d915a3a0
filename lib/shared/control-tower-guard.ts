import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import type { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport } from 'aws-cdk-lib';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { GuardResultCache } from './guard-result-cache';

/** The Control Tower proactive controls as cfn-guard rules, one file per control, as the plugin ships them. */
const PLUGIN_PACKAGE = '@cdklabs/cdk-validator-cfnguard';
const RULES_DIRECTORY = join(
  dirname(require.resolve(`${PLUGIN_PACKAGE}/package.json`)),
  'rules',
  'control-tower',
  'cfn-guard',
);
const RESOURCE_TYPE = /AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g;
/** How long a worker's templates may take before the synth gives up on them. */
const TEMPLATE_TIMEOUT_MS = 5 * 60_000;

interface GuardJob {
  readonly template: string;
  readonly rules: readonly string[];
}

interface StartedWork {
  readonly key: string;
  /** The reports the cache had for unchanged templates. */
  readonly cached: readonly PolicyValidationPluginReport[];
  readonly running: readonly RunningWorker[];
}

export interface ControlTowerGuardValidatorProps {
  /**
   * Where each template's report is kept, by the template's content and the rules (guard-result-cache.ts).
   * @default node_modules/.cache/cfn-guard
   */
  readonly cacheDirectory?: string;
}

const DEFAULT_CACHE_DIRECTORY = join(__dirname, '..', '..', 'node_modules', '.cache', 'cfn-guard');

/**
 * The Control Tower rules of `@cdklabs/cdk-validator-cfnguard`, evaluated by the same plugin and the same cfn-guard
 * binary, but each template against only the rules that can apply to it, and the templates side by side.
 *
 * Every Control Tower rule selects the resources it checks by type (`Resources.*[ Type == 'AWS::S3::Bucket' ]`) and
 * passes when there is none, so a rule that names no type of a template cannot find anything in it. CDK's own
 * CloudFormation validation picks its rules the same way (`loadBuiltinRegoRules(resourceTypes)` in aws-cdk-lib's
 * `CloudFormationValidatePlugin`). The stock plugin runs all 237 rules on every template in one process; here a
 * template is checked against the few dozen that name one of its types, the templates in a worker thread per core
 * (CDK calls `validate` synchronously), and, through {@link ControlTowerGuardValidator.startedBy}, while the checks
 * registered before it run. `test/app/compliance.test.ts` proves the report equal to the stock plugin's on the
 * sandbox templates.
 *
 * A template whose content is unchanged since it was last checked against the same rules gets its report from a
 * {@link GuardResultCache}, as `eslint --cache` skips unchanged files.
 *
 * The name is the stock plugin's, so acknowledgements (`cdk-validator-cfnguard::<rule>`) and reports are unchanged.
 */
export class ControlTowerGuardValidator implements IPolicyValidationPlugin {
  readonly name: string;
  readonly version?: string;
  readonly ruleIds?: string[];
  private readonly cacheDirectory: string;
  private rules?: { readonly types: ReadonlyMap<string, ReadonlySet<string>>; readonly cache: GuardResultCache };
  /** The work `startedBy` began, for the templates it was given. */
  private started?: StartedWork;

  constructor(props: ControlTowerGuardValidatorProps = {}) {
    const stock = new CfnGuardValidator();
    this.name = stock.name;
    this.version = stock.version;
    this.ruleIds = stock.ruleIds;
    this.cacheDirectory = props.cacheDirectory ?? DEFAULT_CACHE_DIRECTORY;
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const key = context.templatePaths.join('\n');
    const work = this.started?.key === key ? this.started : this.start(context.templatePaths);
    this.started = undefined;
    const checked = collect(work.running);
    for (const { template, report } of checked) this.ruleSet().cache.put(template, report);
    const violations = [...work.cached, ...checked.map(({ report }) => report)].flatMap((report) => report.violations);
    return { success: violations.length === 0, violations };
  }

  /**
   * `plugin` as CDK sees it (same name, rules and report), except that its `validate` first starts this plugin's
   * rules on the same templates, so they run on another core beside `plugin` and every check after it, and this
   * plugin's own `validate` only collects them.
   */
  startedBy(plugin: IPolicyValidationPlugin): IPolicyValidationPlugin {
    return {
      name: plugin.name,
      version: plugin.version,
      ruleIds: plugin.ruleIds,
      validate: (context) => {
        this.started = this.start(context.templatePaths);
        return plugin.validate(context);
      },
    };
  }

  private start(templatePaths: readonly string[]): StartedWork {
    const { cache } = this.ruleSet();
    const cached: PolicyValidationPluginReport[] = [];
    const jobs: GuardJob[] = [];
    for (const template of templatePaths) {
      const report = cache.get(template);
      if (report !== undefined) cached.push(report);
      else jobs.push({ template, rules: this.rulesFor(template) });
    }
    const running = shareOut(
      jobs.filter((job) => job.rules.length > 0),
      availableParallelism(),
    ).map(startWorker);
    return { key: templatePaths.join('\n'), cached, running };
  }

  /** The rule files that name at least one resource type of the template, or none (none of the bundled rules). */
  private rulesFor(templatePath: string): string[] {
    const template = JSON.parse(readFileSync(templatePath, 'utf8')) as {
      Resources?: { [id: string]: { Type: string } };
    };
    const types = new Set(Object.values(template.Resources ?? {}).map((resource) => resource.Type));
    return [...this.ruleSet().types]
      .filter(([, ruleTypes]) => ruleTypes.size === 0 || [...ruleTypes].some((type) => types.has(type)))
      .map(([file]) => file);
  }

  /** The rule files with the types they name, and the cache keyed by them and the plugin's version, read once. */
  private ruleSet(): NonNullable<ControlTowerGuardValidator['rules']> {
    if (this.rules === undefined) {
      const types = readRuleTypes(RULES_DIRECTORY);
      const fingerprint = createHash('sha256').update(`${PLUGIN_PACKAGE}@${this.version}\n`);
      for (const file of [...types.keys()].sort()) fingerprint.update(file).update(readFileSync(file));
      this.rules = { types, cache: new GuardResultCache(this.cacheDirectory, fingerprint.digest('hex')) };
    }
    return this.rules;
  }
}

/** Every rule file under `directory`, with the resource types it names. */
function readRuleTypes(directory: string): Map<string, Set<string>> {
  const rules = new Map<string, Set<string>>();
  for (const entry of readdirSync(directory, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.guard')) continue;
    const file = join(entry.parentPath, entry.name);
    const types = new Set(readFileSync(file, 'utf8').match(RESOURCE_TYPE) ?? []);
    rules.set(file, types);
  }
  return rules;
}

interface RunningWorker {
  readonly jobs: readonly GuardJob[];
  readonly port: MessagePort;
  readonly done: Int32Array;
  readonly worker: Worker;
}

/**
 * The jobs in at most `workers` groups of about equal work, the largest templates first: one worker thread costs
 * about 60 ms of CPU to start, so there is one per core, not one per template.
 */
function shareOut(jobs: readonly GuardJob[], workers: number): GuardJob[][] {
  const groups = Array.from({ length: Math.min(workers, jobs.length) }, () => ({ jobs: [] as GuardJob[], work: 0 }));
  const work = (job: GuardJob) => statSync(job.template).size * job.rules.length;
  for (const job of [...jobs].sort((a, b) => work(b) - work(a))) {
    const lightest = groups.reduce((min, group) => (group.work < min.work ? group : min));
    lightest.jobs.push(job);
    lightest.work += work(job);
  }
  return groups.map((group) => group.jobs);
}

/** Starts the stock plugin on each job in turn in a worker thread, which posts the reports on a port when done. */
function startWorker(jobs: readonly GuardJob[]): RunningWorker {
  const { port1, port2 } = new MessageChannel();
  const done = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // Plain Node: the worker loads only the plugin, not the TypeScript loader the app may run under.
    execArgv: [],
    workerData: { pluginPath: require.resolve(PLUGIN_PACKAGE), jobs, port: port2, done },
    transferList: [port2],
  });
  // A synth that fails before collecting does not wait for the rules to finish.
  worker.unref();
  return { jobs, port: port1, done, worker };
}

/**
 * The reports of the running workers, waited for without an event loop (CDK calls `validate` synchronously): a
 * worker wakes the caller through shared memory once its reports are on the port.
 */
function collect(running: readonly RunningWorker[]): { template: string; report: PolicyValidationPluginReport }[] {
  try {
    return running.flatMap(({ jobs, port, done }) => {
      const templates = jobs.map((job) => job.template).join(', ');
      if (Atomics.wait(done, 0, 0, TEMPLATE_TIMEOUT_MS) === 'timed-out') {
        throw new Error(`cfn-guard did not finish ${templates} in ${TEMPLATE_TIMEOUT_MS / 60_000} minutes`);
      }
      const message = receiveMessageOnPort(port)?.message as WorkerResult | undefined;
      if (message === undefined || 'error' in message) {
        throw new Error(`cfn-guard failed on ${message?.template ?? templates}: ${message?.error ?? 'no report'}`);
      }
      return message.reports.map(({ template, success, violations }) => ({
        template,
        report: { success, violations },
      }));
    });
  } finally {
    for (const { port, worker } of running) {
      port.close();
      void worker.terminate();
    }
  }
}

type WorkerResult =
  { reports: ({ template: string } & PolicyValidationPluginReport)[] } | { error: string; template?: string };

/** The worker: the stock plugin on each template with its rules; it always reports, then wakes the caller. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { jobs, port, done, pluginPath } = workerData;
let result;
let template;
try {
  const { CfnGuardValidator } = require(pluginPath);
  const reports = jobs.map((job) => {
    template = job.template;
    const plugin = new CfnGuardValidator({ controlTowerRulesEnabled: false, rules: job.rules });
    const { success, violations } = plugin.validate({ templatePaths: [job.template] });
    return { template: job.template, success, violations };
  });
  result = { reports };
} catch (error) {
  result = { error: error instanceof Error ? error.message : String(error), template };
}
port.postMessage(result);
Atomics.store(done, 0, 1);
Atomics.notify(done, 0);
`;
