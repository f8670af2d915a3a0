/**
 * The keys of the stack outputs that the command-line tools (`npm run ingest|train|predict`) read, so a user never
 * copies a name by hand. The stacks create their outputs under these keys, and the tools look them up by them.
 */
export const STACK_OUTPUTS = {
  /** Ingest: the Firehose stream the producer writes to. */
  deliveryStreamName: 'DeliveryStreamName',
  /** Training: the state machine the runner starts. */
  stateMachineArn: 'StateMachineArn',
  /** Training: the stable endpoint name the pipeline rolls models out to. */
  endpointName: 'EndpointName',
  /** Serving: the API's base URL, ending in the stage and a slash. */
  apiUrl: 'ApiUrl',
  /** Serving: the id of the API key; its value is read with apigateway:GetApiKey. */
  apiKeyId: 'ApiKeyId',
} as const;
