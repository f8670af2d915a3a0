/**
 * The CloudFormation custom resource protocol, without the CDK provider framework's extra function: answer
 * CloudFormation's pre-signed URL with SUCCESS or FAILED. Only a stack deletion does work.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { CleanupReport } from './cleanup';

export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
}

/**
 * Runs the clean-up on a stack deletion and builds CloudFormation's answer. The answer is always sent: an error, a
 * missing setting or running out of time becomes FAILED, because an unanswered request holds the stack for an hour.
 * @param timeBudgetMs how long the clean-up may take before FAILED is answered instead
 */
export async function handleEvent(
  event: CloudFormationCustomResourceEvent,
  logStreamName: string,
  cleanUp: () => Promise<CleanupReport>,
  timeBudgetMs: number,
): Promise<CustomResourceResponse> {
  const physicalResourceId =
    event.RequestType === 'Create' ? `sagemaker-cleanup-${event.LogicalResourceId}` : event.PhysicalResourceId;
  const base = {
    PhysicalResourceId: physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  if (event.RequestType !== 'Delete') {
    return { ...base, Status: 'SUCCESS', Reason: 'Nothing to do until the stack is deleted' };
  }
  try {
    const report = await withinTime(cleanUp(), timeBudgetMs);
    return {
      ...base,
      Status: 'SUCCESS',
      Reason:
        `Deleted ${report.endpoints.length} endpoint(s), ${report.endpointConfigs.length} endpoint config(s), ` +
        `${report.models.length} model(s)`,
    };
  } catch (error) {
    // FAILED stops the stack deletion, so nothing that bills is silently left behind.
    return {
      ...base,
      Status: 'FAILED',
      Reason: `SageMaker clean-up failed: ${(error as Error).message} (see CloudWatch log stream ${logStreamName})`,
    };
  }
}

/** PUTs the response to CloudFormation's pre-signed S3 URL. */
export async function sendResponse(responseUrl: string, response: CustomResourceResponse): Promise<void> {
  const body = JSON.stringify(response);
  const result = await fetch(responseUrl, {
    method: 'PUT',
    body,
    headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
  });
  if (!result.ok) throw new Error(`CloudFormation response upload failed with HTTP ${result.status}`);
}

function withinTime<T>(work: Promise<T>, budgetMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`not finished within ${Math.round(budgetMs / 1000)} s; run the stack deletion again`)),
      budgetMs,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
