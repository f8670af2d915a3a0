// Wiring only: read the environment once, build the clients once; the logic is in cleanup.ts and custom-resource.ts.
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { cleanUp } from './cleanup';
import { handleEvent, sendResponse } from './custom-resource';

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

const tag = { key: requireEnv('OWNER_TAG_KEY'), value: requireEnv('OWNER_TAG_VALUE') };
const clients = { sagemaker: new SageMakerClient({}), tagging: new ResourceGroupsTaggingAPIClient({}) };

export const handler = async (event: CloudFormationCustomResourceEvent, context: Context): Promise<void> => {
  const response = await handleEvent(event, context.logStreamName, () => cleanUp(clients, tag));
  console.log(JSON.stringify({ requestType: event.RequestType, status: response.Status, reason: response.Reason }));
  await sendResponse(event.ResponseURL, response);
};
