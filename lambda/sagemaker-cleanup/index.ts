// Wiring only: read the environment once, build the clients once; the logic is in cleanup.ts and custom-resource.ts.
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { cleanUp, type OwnerTag } from './cleanup';
import { handleEvent, sendResponse } from './custom-resource';

/** Leaves this much of the invocation for answering CloudFormation. */
const RESPONSE_RESERVE_MS = 20_000;

// A missing setting is reported to CloudFormation as FAILED rather than thrown at load time: a function that fails
// to start never answers, and the stack would wait an hour for it.
const tagKey = process.env.OWNER_TAG_KEY;
const tagValue = process.env.OWNER_TAG_VALUE;
const tag: OwnerTag | undefined = tagKey && tagValue ? { key: tagKey, value: tagValue } : undefined;
const clients = { sagemaker: new SageMakerClient({}), tagging: new ResourceGroupsTaggingAPIClient({}) };

export const handler = async (event: CloudFormationCustomResourceEvent, context: Context): Promise<void> => {
  const response = await handleEvent(
    event,
    context.logStreamName,
    () => {
      if (tag === undefined) throw new Error('OWNER_TAG_KEY and OWNER_TAG_VALUE must be set on the function');
      return cleanUp(clients, tag);
    },
    context.getRemainingTimeInMillis() - RESPONSE_RESERVE_MS,
  );
  console.log(JSON.stringify({ requestType: event.RequestType, status: response.Status, reason: response.Reason }));
  await sendResponse(event.ResponseURL, response);
};
