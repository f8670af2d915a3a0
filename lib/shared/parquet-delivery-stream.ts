import { Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { firehoseDataPrefix, firehoseErrorPrefix } from '../schema/lake-layout';
import { objectArnFindingId } from './nag-findings';
import { PARQUET_BUFFER_MIB } from '../contract/service-limits';
import { EncryptedLogGroup } from './encrypted-log-group';

export interface ParquetDeliveryStreamProps {
  readonly deliveryStreamName: string;
  /** What the stream delivers, for its role's description. */
  readonly purpose: string;
  /** Raw zone bucket the Parquet files land in. */
  readonly rawBucket: s3.IBucket;
  /** Prefix of the table's data under the bucket (lib/schema/lake-layout.ts); the only one it writes, besides errors. */
  readonly dataPrefix: string;
  /** Prefix of the records Firehose could not convert. */
  readonly errorPrefix: string;
  /** Glue table whose columns define the Parquet schema. */
  readonly table: glue.ITable;
  readonly encryptionKey: kms.IKey;
  /** Buffer size, 64 to 128 MiB. */
  readonly bufferSize: Size;
  /** Longest buffering time, 0 to 900 s. */
  readonly bufferInterval: Duration;
  readonly logRetention: logs.RetentionDays;
  /** What happens to the delivery-error log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A Direct PUT Firehose stream that converts JSON records to Snappy-compressed Parquet through the Glue table's
 * schema (record format conversion) and writes them under Hive-style `year=/month=/day=/hour=` prefixes of its own
 * data prefix: the producer's events (ingest) and the predict function's inference log (serving).
 *
 * Records that fail conversion (a field of the wrong type, malformed JSON) go under the error prefix instead of
 * being dropped, and every failure is logged to CloudWatch.
 */
export class ParquetDeliveryStream extends Construct {
  readonly deliveryStream: firehose.IDeliveryStream;
  readonly logGroup: logs.ILogGroup;
  /** The role Firehose assumes: write to its two prefixes of the raw zone, read the table schema, use the key, log. */
  readonly role: iam.IRole;

  constructor(scope: Construct, id: string, props: ParquetDeliveryStreamProps) {
    super(scope, id);
    const bufferMiB = props.bufferSize.toMebibytes();
    if (bufferMiB < PARQUET_BUFFER_MIB.min || bufferMiB > PARQUET_BUFFER_MIB.max) {
      throw new Error(
        `ParquetDeliveryStream: bufferSize (${bufferMiB} MiB) must be ${PARQUET_BUFFER_MIB.min} to ` +
          `${PARQUET_BUFFER_MIB.max} MiB, the range Firehose allows with Parquet conversion`,
      );
    }
    for (const [name, prefix] of [
      ['dataPrefix', props.dataPrefix],
      ['errorPrefix', props.errorPrefix],
    ] as const) {
      if (!/^[a-z0-9][a-z0-9-]*\/$/.test(prefix)) {
        throw new Error(
          `ParquetDeliveryStream: ${name} '${prefix}' must be one folder of lower-case letters, digits and hyphens ending in /, e.g. 'events/'`,
        );
      }
    }
    if (props.dataPrefix === props.errorPrefix) {
      throw new Error(
        `ParquetDeliveryStream: dataPrefix and errorPrefix are both '${props.dataPrefix}'; failed records must land apart from the table's data, which readers scan`,
      );
    }
    const intervalSeconds = props.bufferInterval.toSeconds();
    if (intervalSeconds < 0 || intervalSeconds > 900) {
      throw new Error(
        `ParquetDeliveryStream: bufferInterval (${intervalSeconds} s) must be 0 to 900 s, the range Firehose allows`,
      );
    }

    // Firehose reads the Parquet schema from the Glue table at delivery time; the L2 takes the table's L1 resource.
    const cfnTable = props.table.node.defaultChild;
    if (!(cfnTable instanceof glue.CfnTable)) {
      throw new Error(
        `ParquetDeliveryStream: table ${props.table.node.path} must be a Glue table defined in this app (glue.S3Table)`,
      );
    }

    this.logGroup = new EncryptedLogGroup(this, 'DeliveryErrors', {
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    const deliveryRole = this.createDeliveryRole(props, cfnTable.databaseName);
    this.role = deliveryRole;
    // The L2 would grant itself read-write (including deletes) on the whole bucket; handing it a role that ignores
    // policy updates keeps the explicit least-privilege policy above as the only one.
    const role = deliveryRole.withoutPolicyUpdates();
    this.deliveryStream = new firehose.DeliveryStream(this, 'Stream', {
      deliveryStreamName: props.deliveryStreamName,
      role,
      encryption: firehose.StreamEncryption.customerManagedKey(props.encryptionKey),
      destination: new firehose.S3Bucket(props.rawBucket, {
        role,
        dataOutputPrefix: firehoseDataPrefix(props.dataPrefix),
        errorOutputPrefix: firehoseErrorPrefix(props.errorPrefix),
        bufferingSize: props.bufferSize,
        bufferingInterval: props.bufferInterval,
        encryptionKey: props.encryptionKey,
        loggingConfig: new firehose.EnableLogging(this.logGroup),
        dataFormatConversion: {
          schemaConfiguration: firehose.SchemaConfiguration.fromCfnTable(cfnTable),
          // Producers send timestamps as epoch milliseconds (see TIMESTAMP_WIRE_FORMAT in the feature schema).
          inputFormat: new firehose.HiveJsonInputFormat({ timestampParsers: [firehose.TimestampParser.EPOCH_MILLIS] }),
          // Parquet compresses its own column pages; Firehose allows no S3-level compression on top of conversion.
          outputFormat: new firehose.ParquetOutputFormat({ compression: firehose.ParquetCompression.SNAPPY }),
        },
      }),
    });
    // Firehose checks its access when the stream is created, so the policy must exist first.
    this.deliveryStream.node.addDependency(deliveryRole);

    // The L2 adds a region → Firehose CIDR mapping to the stack for VPC destinations; an S3 destination never looks
    // it up. CloudFormation Validate reports the unused mapping against the stack, so the acknowledgement sits there.
    if (Stack.of(this).node.tryFindChild('@aws-cdk/aws-kinesisfirehose.CidrBlocks') !== undefined) {
      Validations.of(Stack.of(this)).acknowledge({
        id: 'CloudFormation-Validate::W7001',
        reason:
          'The unused mapping is the Firehose CIDR table that the DeliveryStream L2 adds for VPC destinations; this stream writes to S3.',
      });
    }
  }

  private createDeliveryRole(props: ParquetDeliveryStreamProps, databaseName: string): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'DeliveryRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        // Only this account's delivery streams can assume the role (confused-deputy protection).
        conditions: { StringEquals: { 'sts:ExternalId': stack.account } },
      }),
      description: `Firehose: convert ${props.purpose} to Parquet and write them to the raw zone`,
    });
    const objectPatterns = [props.dataPrefix, props.errorPrefix].map((prefix) => `${prefix}*`);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListRawBucket',
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [props.rawBucket.bucketArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteRawObjects',
        // GetObject lets Firehose check multipart uploads it started; it never deletes.
        actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
        resources: objectPatterns.map((pattern) => props.rawBucket.arnForObjects(pattern)),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptWithLakeKey',
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.encryptionKey.keyArn],
        // Only for the objects it writes through S3: the stream's own encryption runs on Firehose's key grant.
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
      }),
    );
    const table = props.table;
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadParquetSchema',
        actions: ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'],
        resources: [
          stack.formatArn({ service: 'glue', resource: 'catalog' }),
          stack.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
          table.tableArn,
        ],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'LogDeliveryErrors',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    Validations.of(role).acknowledge(
      ...objectPatterns.map((pattern) => ({
        id: objectArnFindingId(role, props.rawBucket, pattern),
        reason:
          'Firehose names each object after its arrival hour and a random suffix, so writes cover the whole prefix; the role cannot touch other prefixes.',
      })),
    );
    return role;
  }
}
