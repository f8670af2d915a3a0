import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** What a run creates in SageMaker and names after its run id, `<namePrefix>-<uuid>`. */
export type RunResource = 'model' | 'endpoint-config';

/** The ARN pattern of every resource of one kind that this stage's runs create, and nothing of another stage's. */
export function runResourceArn(scope: IConstruct, resource: RunResource, namePrefix: string): string {
  return Stack.of(scope).formatArn({ service: 'sagemaker', resource, resourceName: `${namePrefix}-*` });
}
