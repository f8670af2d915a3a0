import { type Size, SizeRoundingBehavior, Token } from 'aws-cdk-lib';
import { SAGEMAKER_INSTANCE_TYPE } from '../contract/service-limits';
import { ENDPOINT_VARIANT_NAME } from '../contract/training-run';

/**
 * How the endpoint serves: serverless capacity (memory of 1 to 6 GiB in whole GiB, 1 to 200 concurrent
 * invocations), or a number of `ml.*` instances that are always on.
 */
export type EndpointCapacity =
  | { readonly serverless: { readonly memory: Size; readonly maxConcurrency: number } }
  | { readonly instances: { readonly instanceType: string; readonly count: number } };

/**
 * Throws unless SageMaker would accept the capacity; the error starts with `owner` (the construct) and names the
 * field, its value and what to pass.
 */
export function validateCapacity(owner: string, capacity: EndpointCapacity): void {
  const fail = (message: string): never => {
    throw new Error(`${owner}: capacity.${message}`);
  };
  if ('serverless' in capacity) {
    const mib = capacity.serverless.memory.toMebibytes({ rounding: SizeRoundingBehavior.NONE });
    if (!(mib >= 1024 && mib <= 6144 && mib % 1024 === 0)) {
      fail(`serverless.memory (${mib} MiB) must be 1 to 6 GiB in whole GiB; pass for example Size.gibibytes(2)`);
    }
    const { maxConcurrency } = capacity.serverless;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 200) {
      fail(`serverless.maxConcurrency ${maxConcurrency} must be a whole number from 1 to 200`);
    }
  } else {
    const { instanceType, count } = capacity.instances;
    if (!Token.isUnresolved(instanceType) && !SAGEMAKER_INSTANCE_TYPE.test(instanceType)) {
      fail(`instances.instanceType '${instanceType}' is not a SageMaker instance type; pass one such as 'ml.m5.large'`);
    }
    if (!Number.isInteger(count) || count < 1) fail(`instances.count ${count} must be a whole number of at least 1`);
  }
}

/** The endpoint config's one production variant, serving `modelName` with the capacity. */
export function productionVariant(capacity: EndpointCapacity, modelName: string): { [key: string]: unknown } {
  const common = { VariantName: ENDPOINT_VARIANT_NAME, ModelName: modelName };
  if ('serverless' in capacity) {
    const { memory, maxConcurrency } = capacity.serverless;
    // A serverless variant carries no instance type, count or volume settings; SageMaker rejects them.
    return { ...common, ServerlessConfig: { MemorySizeInMB: memory.toMebibytes(), MaxConcurrency: maxConcurrency } };
  }
  return { ...common, InstanceType: capacity.instances.instanceType, InitialInstanceCount: capacity.instances.count };
}
