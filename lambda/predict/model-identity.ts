/**
 * Which model the endpoint serves, for the inference log's `model_name`. The pipeline names each run's model and
 * endpoint config after the run (lib/training/endpoint-rollout.ts), so the endpoint's EndpointConfigName names the
 * model. The endpoint's answer does not say it (its one variant keeps a stable name, which the endpoint alarms
 * use), so the function reads DescribeEndpoint at most once a minute (every 10 s while reads fail), concurrently
 * with the model call.
 *
 * Around a rollout the name can be up to a minute old: rows scored in that minute may carry the previous model.
 */
import { DescribeEndpointCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';

/** How long a name read from DescribeEndpoint is used before it is read again. */
export const MODEL_NAME_TTL_MS = 60_000;

/**
 * How long after a failed read (no endpoint yet, throttled, unreachable) the next one may start. DescribeEndpoint is
 * a rate-limited control-plane call that `/health` and the pipeline's rollout share, so a failing endpoint must not
 * turn every request of every environment into one.
 */
export const MODEL_NAME_RETRY_MS = 10_000;

/** How long one read may take before it is given up, so a hung connection cannot hold the refresh forever. */
export const MODEL_NAME_READ_TIMEOUT_MS = 1_000;

export class ModelIdentity {
  private name: string | null = null;
  private nextReadAt = -Infinity;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly sagemaker: SageMakerClient,
    private readonly endpointName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts reading the endpoint when the name is older than the TTL and no read is under way. Never throws. */
  refresh(): void {
    if (this.pending !== undefined || this.now() < this.nextReadAt) return;
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(), MODEL_NAME_READ_TIMEOUT_MS);
    this.pending = this.sagemaker
      .send(new DescribeEndpointCommand({ EndpointName: this.endpointName }), { abortSignal: budget.signal })
      .then(
        (endpoint) => {
          this.name = endpoint.EndpointConfigName ?? null;
          this.nextReadAt = this.now() + MODEL_NAME_TTL_MS;
        },
        // Keep the last name, and wait a little before asking again.
        () => {
          this.nextReadAt = this.now() + MODEL_NAME_RETRY_MS;
        },
      )
      .finally(() => {
        clearTimeout(timer);
        this.pending = undefined;
      });
  }

  /**
   * The model's name: the one last read, or, while none has been read (a new environment's first request), the
   * read under way if it ends within `waitMs`; else null.
   */
  async current(waitMs: number): Promise<string | null> {
    if (this.name !== null || this.pending === undefined) return this.name;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
    await Promise.race([this.pending, timeout]);
    clearTimeout(timer);
    return this.name;
  }
}
