// Wiring only: read the environment once, build the clients once; the logic is in cleanup.ts. CDK's provider
// framework calls `onEvent` once per CloudFormation request and `isComplete` until it answers true, and answers
// CloudFormation itself, also when a function fails to start: a missing setting fails here at load time.
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import {
  isCleanupComplete,
  modelPackageGroupFromEnvironment,
  onCleanupEvent,
  ownerTagFromEnvironment,
  type CleanupCompletion,
  type CleanupEventResult,
  type CleanupRequest,
} from './cleanup';

const tag = ownerTagFromEnvironment(process.env);
const modelPackageGroup = modelPackageGroupFromEnvironment(process.env);
const clients = { sagemaker: new SageMakerClient({}), tagging: new ResourceGroupsTaggingAPIClient({}) };

export const onEvent = async (
  event: CloudFormationCustomResourceEvent,
  context: Context,
): Promise<CleanupEventResult> => {
  const result = await onCleanupEvent(event, clients, tag, context);
  console.log(JSON.stringify({ requestType: event.RequestType, ...result }));
  return result;
};

export const isComplete = async (event: CleanupRequest, context: Context): Promise<CleanupCompletion> => {
  const result = await isCleanupComplete(event, clients, tag, context, modelPackageGroup);
  console.log(JSON.stringify({ requestType: event.RequestType, ...result }));
  return result;
};
