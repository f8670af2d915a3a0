/**
 * Runs a synthesized state machine definition locally (aws-local-stepfunctions): each named task state answers
 * through its handler, which records what the state sent, while Step Functions' own semantics run as in the service.
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

export type Json = Record<string, unknown>;
export type Handler = (input: Json) => unknown;

export interface LocalRun {
  /** What each task state sent, call by call. */
  readonly calls: Record<string, Json[]>;
  readonly output?: Json;
  readonly error?: Error;
}

/** An AWS error as Step Functions names it, e.g. `SageMaker.SageMakerException`. */
export const awsError = (name: string, message: string): Error => Object.assign(new Error(message), { name });

/** The names of every Wait state in a definition, in Parallel branches and Map iterators too. */
function waitStates(definition: Json): string[] {
  const states = (definition.States ?? {}) as Record<string, Json>;
  return Object.entries(states).flatMap(([name, state]) => [
    ...(state.Type === 'Wait' ? [name] : []),
    ...((state.Branches ?? []) as Json[]).flatMap(waitStates),
    ...[state.ItemProcessor, state.Iterator].filter((inner): inner is Json => inner !== undefined).flatMap(waitStates),
  ]);
}

/**
 * Runs `definition` on `input` with the given task handlers. Retries and Wait states wait no time; the execution is
 * `executionName` of the state machine `stateMachineArn`.
 */
export async function runLocally(
  definition: Json,
  input: Json,
  handlers: Record<string, Handler>,
  options: { executionName?: string; stateMachineArn?: string } = {},
): Promise<LocalRun> {
  const calls: Record<string, Json[]> = {};
  const machine = new StateMachine(definition as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: false },
  });
  const local = Object.fromEntries(
    Object.entries(handlers).map(([state, handler]) => [
      state,
      async (value: unknown) => {
        (calls[state] ??= []).push(value as Json);
        return handler(value as Json);
      },
    ]),
  );
  const executionName = options.executionName ?? 'run-1';
  const run = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: local as never,
      waitTimeOverrides: Object.fromEntries(waitStates(definition).map((state) => [state, 0])),
      retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((state) => [state, 0])),
    },
    context: {
      Execution: { Id: `arn:aws:states:eu-west-1:123456789012:execution:x:${executionName}`, Name: executionName },
      StateMachine: { Id: options.stateMachineArn ?? 'arn:aws:states:eu-west-1:123456789012:stateMachine:x' },
    } as never,
  });
  try {
    return { calls, output: (await run.result) as Json };
  } catch (error) {
    return { calls, error: error as Error };
  }
}
