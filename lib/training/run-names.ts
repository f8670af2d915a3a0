import { Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** What a run creates in SageMaker and names after its run id, `<namePrefix>-<uuid>`. */
export type RunResource = 'model' | 'endpoint-config';

/** The ARN pattern of every resource of one kind that this stage's runs create, and nothing of another stage's. */
export function runResourceArn(scope: IConstruct, resource: RunResource, namePrefix: string): string {
  return Stack.of(scope).formatArn({ service: 'sagemaker', resource, resourceName: `${namePrefix}-*` });
}

/**
 * The stable endpoint name: lower case, because SageMaker's ARNs are lower case and the roles that call or delete
 * the endpoint name its ARN; an upper-case name would make every such statement miss.
 */
const ENDPOINT_NAME = /^[a-z0-9](-*[a-z0-9]){0,62}$/;

/** Throws, naming `owner`'s `endpointName` prop, unless the name is one an IAM statement by ARN can match. */
export function validateEndpointName(owner: string, endpointName: string): void {
  if (!Token.isUnresolved(endpointName) && !ENDPOINT_NAME.test(endpointName)) {
    throw new Error(
      `${owner}: endpointName '${endpointName}' must be 1 to 63 lower-case letters, digits and inner hyphens ` +
        '(SageMaker ARNs are lower case, and the IAM statements name the endpoint by its ARN)',
    );
  }
}
