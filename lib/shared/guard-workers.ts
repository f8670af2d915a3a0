import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/** One template and the rule files to check it against. */
export interface GuardJob {
  readonly template: string;
  readonly rules: readonly string[];
}

/** Guard jobs running in worker threads, started by {@link startGuardJobs} and waited for by {@link collectGuardJobs}. */
export interface RunningGuardJobs {
  readonly workers: readonly RunningWorker[];
}

interface RunningWorker {
  readonly jobs: readonly GuardJob[];
  readonly port: MessagePort;
  readonly done: Int32Array;
  readonly worker: Worker;
}

/** How long all the jobs together may take before the synth gives up on them. */
const TIMEOUT_MS = 5 * 60_000;

/**
 * Starts the stock plugin (`pluginPath`) on the jobs, in one worker thread per core: a worker costs about 60 ms of
 * CPU to start, so the jobs are shared out by size, the largest first, rather than given a worker each.
 */
export function startGuardJobs(pluginPath: string, jobs: readonly GuardJob[]): RunningGuardJobs {
  const groups = Array.from({ length: Math.min(availableParallelism(), jobs.length) }, () => ({
    jobs: [] as GuardJob[],
    work: 0,
  }));
  const work = (job: GuardJob) => statSync(job.template).size * job.rules.length;
  for (const job of [...jobs].sort((a, b) => work(b) - work(a))) {
    const lightest = groups.reduce((min, group) => (group.work < min.work ? group : min));
    lightest.jobs.push(job);
    lightest.work += work(job);
  }
  return { workers: groups.map((group) => startWorker(pluginPath, group.jobs)) };
}

/**
 * Each job's report by template, waited for without an event loop (CDK calls `validate` synchronously): a worker
 * wakes the caller through shared memory once its reports are on its port, or once it exits without them.
 */
export function collectGuardJobs(running: RunningGuardJobs): Map<string, PolicyValidationPluginReport> {
  const deadline = Date.now() + TIMEOUT_MS;
  const reports = new Map<string, PolicyValidationPluginReport>();
  try {
    for (const { jobs, port, done } of running.workers) {
      const templates = jobs.map((job) => job.template).join(', ');
      if (Atomics.wait(done, 0, 0, Math.max(0, deadline - Date.now())) === 'timed-out') {
        throw new Error(`cfn-guard did not finish ${templates} in ${TIMEOUT_MS / 60_000} minutes`);
      }
      const message = receiveMessageOnPort(port)?.message as WorkerResult | undefined;
      if (message === undefined || 'error' in message) {
        const reason = message?.error ?? 'its worker stopped without a report';
        throw new Error(`cfn-guard failed on ${message?.template ?? templates}: ${reason}`);
      }
      for (const { template, success, violations } of message.reports) reports.set(template, { success, violations });
    }
    return reports;
  } finally {
    stopGuardJobs(running);
  }
}

/** Ends the workers, finished or not. */
export function stopGuardJobs(running: RunningGuardJobs): void {
  for (const { port, worker } of running.workers) {
    port.close();
    void worker.terminate();
  }
}

function startWorker(pluginPath: string, jobs: readonly GuardJob[]): RunningWorker {
  const { port1, port2 } = new MessageChannel();
  const done = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // Plain Node: the worker loads only the plugin, not the TypeScript loader the app may run under.
    execArgv: [],
    workerData: { pluginPath, jobs, port: port2, done },
    transferList: [port2],
  });
  // A synth that fails before collecting does not wait for the rules to finish.
  worker.unref();
  return { jobs, port: port1, done, worker };
}

type WorkerResult =
  { reports: ({ template: string } & PolicyValidationPluginReport)[] } | { error: string; template?: string };

/**
 * The worker: the stock plugin on each template with its rules. It always posts a result before it wakes the
 * caller, and wakes it on exit too, so a worker that dies cannot leave the synth waiting.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { jobs, port, done, pluginPath } = workerData;
const wake = () => { Atomics.store(done, 0, 1); Atomics.notify(done, 0); };
process.on('exit', wake);
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
wake();
`;
