import { CfnOutput, Duration, Size, Stack, StackProps } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { dataRemoval } from '../config/data-removal';
import type { StageConfig } from '../config/stage-config';
import { ParquetDeliveryStream } from '../shared/parquet-delivery-stream';
import { RAW_ERRORS_PREFIX, RAW_EVENTS_PREFIX } from '../schema/lake-layout';
import { STACK_OUTPUTS } from '../contract/stacks';

export interface IngestStackProps extends StackProps {
  readonly config: StageConfig;
  readonly rawBucket: s3.IBucket;
  readonly table: glue.ITable;
  readonly encryptionKey: kms.IKey;
}

/** Ingest: the Firehose delivery stream that lands producer records in the raw zone as Parquet. */
export class IngestStack extends Stack {
  readonly delivery: ParquetDeliveryStream;

  constructor(scope: Construct, id: string, props: IngestStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.delivery = new ParquetDeliveryStream(this, 'Delivery', {
      deliveryStreamName: `${config.namePrefix}-events`,
      purpose: 'producer events',
      rawBucket: props.rawBucket,
      dataPrefix: RAW_EVENTS_PREFIX,
      errorPrefix: RAW_ERRORS_PREFIX,
      table: props.table,
      encryptionKey: props.encryptionKey,
      bufferSize: Size.mebibytes(config.ingest.bufferSizeMiB),
      bufferInterval: Duration.seconds(config.ingest.bufferIntervalSeconds),
      logRetention: config.logRetentionDays as logs.RetentionDays,
      logRemovalPolicy: dataRemoval(config.data).removalPolicy,
    });
    new CfnOutput(this, STACK_OUTPUTS.deliveryStreamName, { value: this.delivery.deliveryStream.deliveryStreamName });
  }
}
