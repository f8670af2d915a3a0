import { RemovalPolicy } from 'aws-cdk-lib';
import type { DataConfig } from './stage-config';

/**
 * How stored data leaves with its stack. Both switches must agree (validated in `loadStageConfig`); data is
 * deleted only when both say so.
 */
export interface DataRemoval {
  /** Applied to buckets and the KMS key. */
  readonly removalPolicy: RemovalPolicy;
  /** Empty buckets on stack deletion so CloudFormation can delete them. */
  readonly autoDeleteObjects: boolean;
}

export function dataRemoval(data: DataConfig): DataRemoval {
  const destroy = data.removalPolicy === 'destroy' && data.allowDataDeletion;
  return {
    removalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    autoDeleteObjects: destroy,
  };
}
