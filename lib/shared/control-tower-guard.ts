import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import type {
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
  PolicyViolation,
} from 'aws-cdk-lib';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/** The Control Tower proactive controls as cfn-guard rules, one file per control, as the plugin ships them. */
const PLUGIN_PACKAGE = '@cdklabs/cdk-validator-cfnguard';
const RULES_DIRECTORY = join(
  dirname(require.resolve(`${PLUGIN_PACKAGE}/package.json`)),
  'rules',
  'control-tower',
  'cfn-guard',
);
const RESOURCE_TYPE = /AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g;
/** How long one template's rules may run before the synth gives up on them. */
const TEMPLATE_TIMEOUT_MS = 5 * 60_000;

interface GuardJob {
  readonly template: string;
  readonly rules: readonly string[];
}

/**
 * The Control Tower rules of `@cdklabs/cdk-validator-cfnguard`, evaluated by the same plugin and the same cfn-guard
 * binary, but each template against only the rules that can apply to it, and the templates side by side.
 *
 * Every Control Tower rule selects the resources it checks by type (`Resources.*[ Type == 'AWS::S3::Bucket' ]`) and
 * passes when there is none, so a rule that names no type of a template cannot find anything in it. CDK's own
 * CloudFormation validation picks its rules the same way (`loadBuiltinRegoRules(resourceTypes)` in aws-cdk-lib's
 * `CloudFormationValidatePlugin`). The stock plugin runs all 237 rules on every template in one process; here a
 * template is checked against the few dozen that name one of its types, the templates in parallel worker threads
 * (CDK calls `validate` synchronously), and, through {@link ControlTowerGuardValidator.startedBy}, while the checks
 * registered before it run. `test/app/compliance.test.ts` proves the report equal to the
 * stock plugin's on both stages' templates.
 *
 * The name is the stock plugin's, so acknowledgements (`cdk-validator-cfnguard::<rule>`) and reports are unchanged.
 */
export class ControlTowerGuardValidator implements IPolicyValidationPlugin {
  readonly name: string;
  readonly version?: string;
  readonly ruleIds?: string[];
  private ruleTypes?: ReadonlyMap<string, ReadonlySet<string>>;
  /** The work `startedBy` began, for the templates it was given. */
  private started?: { key: string; running: RunningJob[] };

  constructor() {
    const stock = new CfnGuardValidator();
    this.name = stock.name;
    this.version = stock.version;
    this.ruleIds = stock.ruleIds;
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const key = context.templatePaths.join('\n');
    const running = this.started?.key === key ? this.started.running : this.start(context.templatePaths).running;
    this.started = undefined;
    const violations = collect(running).flatMap((report) => report.violations);
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

  private start(templatePaths: readonly string[]): { key: string; running: RunningJob[] } {
    const jobs = templatePaths
      .map((template) => ({ template, rules: this.rulesFor(template) }))
      .filter((job) => job.rules.length > 0);
    return { key: templatePaths.join('\n'), running: jobs.map(startJob) };
  }

  /** The rule files that name at least one resource type of the template, or none (none of the bundled rules). */
  private rulesFor(templatePath: string): string[] {
    const template = JSON.parse(readFileSync(templatePath, 'utf8')) as {
      Resources?: { [id: string]: { Type: string } };
    };
    const types = new Set(Object.values(template.Resources ?? {}).map((resource) => resource.Type));
    this.ruleTypes ??= readRuleTypes(RULES_DIRECTORY);
    return [...this.ruleTypes]
      .filter(([, ruleTypes]) => ruleTypes.size === 0 || [...ruleTypes].some((type) => types.has(type)))
      .map(([file]) => file);
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

interface RunningJob {
  readonly job: GuardJob;
  readonly port: MessagePort;
  readonly done: Int32Array;
  readonly worker: Worker;
}

/** Starts the stock plugin on one job in a worker thread, which posts its report on a port when it is done. */
function startJob(job: GuardJob): RunningJob {
  const { port1, port2 } = new MessageChannel();
  const done = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // Plain Node: the worker loads only the plugin, not the TypeScript loader the app may run under.
    execArgv: [],
    workerData: { pluginPath: require.resolve(PLUGIN_PACKAGE), job, port: port2, done },
    transferList: [port2],
  });
  // A synth that fails before collecting does not wait for the rules to finish.
  worker.unref();
  return { job, port: port1, done, worker };
}

/**
 * The reports of running jobs, waited for without an event loop (CDK calls `validate` synchronously): a worker
 * wakes the caller through shared memory once its report is on the port.
 */
function collect(running: readonly RunningJob[]): PolicyValidationPluginReport[] {
  try {
    return running.map(({ job, port, done }) => {
      if (Atomics.wait(done, 0, 0, TEMPLATE_TIMEOUT_MS) === 'timed-out') {
        throw new Error(`cfn-guard did not finish ${job.template} in ${TEMPLATE_TIMEOUT_MS / 60_000} minutes`);
      }
      const message = receiveMessageOnPort(port)?.message as WorkerResult | undefined;
      if (message === undefined || 'error' in message) {
        throw new Error(`cfn-guard failed on ${job.template}: ${message?.error ?? 'the worker sent no report'}`);
      }
      return { success: message.success, violations: message.violations };
    });
  } finally {
    for (const { port, worker } of running) {
      port.close();
      void worker.terminate();
    }
  }
}

type WorkerResult = { success: boolean; violations: PolicyViolation[] } | { error: string };

/** The worker: the stock plugin on one template with the job's rules; it always reports, then wakes the caller. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { job, port, done, pluginPath } = workerData;
let result;
try {
  const { CfnGuardValidator } = require(pluginPath);
  const plugin = new CfnGuardValidator({ controlTowerRulesEnabled: false, rules: job.rules });
  const report = plugin.validate({ templatePaths: [job.template] });
  result = { success: report.success, violations: report.violations };
} catch (error) {
  result = { error: error instanceof Error ? error.message : String(error) };
}
port.postMessage(result);
Atomics.store(done, 0, 1);
Atomics.notify(done, 0);
`;
