/**
 * The stacks' contract with the command-line tools (`npm run ingest|train|predict`): the CloudFormation name of each
 * stack and the keys of the outputs the tools read, so a user never copies a name by hand. No aws-cdk-lib here.
 */

/** The CloudFormation name of each stack; the tools find the stacks' outputs by these names. */
export function stackNames(namePrefix: string) {
  return {
    dataLake: `${namePrefix}-data-lake`,
    ingest: `${namePrefix}-ingest`,
    training: `${namePrefix}-training`,
    serving: `${namePrefix}-serving`,
    monitoring: `${namePrefix}-monitoring`,
  } as const;
}

/**
 * The lake's Glue database: the name prefix in lower snake case, so Athena needs no quoting. A fixed name, so SQL
 * that other stacks build (the monitor's) names it as text rather than as a cross-stack reference.
 */
export const lakeDatabaseName = (namePrefix: string) => `${namePrefix.replace(/-/g, '_')}_lake`;

/** The keys of the stack outputs the tools read; the stacks create their outputs under these keys. */
export const STACK_OUTPUTS = {
  /** Ingest: the Firehose stream the producer writes to. */
  deliveryStreamName: 'DeliveryStreamName',
  /** Training: the state machine the runner starts. */
  stateMachineArn: 'StateMachineArn',
  /** Training: the stable endpoint name the pipeline rolls models out to. */
  endpointName: 'EndpointName',
  /** Training: the topic that announces failed and rejected runs; subscribe an address to it. */
  notificationTopicArn: 'NotificationTopicArn',
  /** Serving: the Firehose stream of the inference log, which the predict function writes. */
  inferenceLogStreamName: 'InferenceLogStreamName',
  /** Serving: the API's base URL, ending in the stage and a slash. */
  apiUrl: 'ApiUrl',
  /** Serving: the id of the API key; its value is read with apigateway:GetApiKey. */
  apiKeyId: 'ApiKeyId',
} as const;
