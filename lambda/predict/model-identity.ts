/**
 * Which model the endpoint serves, for the inference log's `model_name`. The pipeline names each run's model and
 * endpoint config after the run (lib/training/endpoint-rollout.ts), so the endpoint's EndpointConfigName names the
 * model. The endpoint's answer does not say it (its one variant keeps a stable name, which the endpoint alarms
 * use), so the function reads DescribeEndpoint at most once a minute, concurrently with the model call.
 *
 * Around a rollout the name can be up to a minute old: rows scored in that minute may carry the previous model.
 */
import { DescribeEndpointCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';

/** How long a name read from DescribeEndpoint is used before it is read again. */
export const MODEL_NAME_TTL_MS = 60_000;

export class ModelIdentity {
  private name: string | null = null;
  private readAt = -Infinity;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly sagemaker: SageMakerClient,
    private readonly endpointName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts reading the endpoint when the name is older than the TTL and no read is under way. Never throws. */
  refresh(): void {
    if (this.pending !== undefined || this.now() - this.readAt < MODEL_NAME_TTL_MS) return;
    this.pending = this.sagemaker
      .send(new DescribeEndpointCommand({ EndpointName: this.endpointName }))
      .then(
        (endpoint) => {
          this.name = endpoint.EndpointConfigName ?? null;
          this.readAt = this.now();
        },
        // No endpoint yet, throttled, or unreachable: keep the last name and try again on the next request.
        () => undefined,
      )
      .finally(() => {
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
