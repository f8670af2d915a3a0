import { Match } from 'aws-cdk-lib/assertions';
import { ParquetDeliveryStream } from '../../lib/shared/parquet-delivery-stream';
import { normalizedTemplate, synthPipeline, testApp } from '../helpers';
import { Duration, Size, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';

const { ingest: template } = synthPipeline({ stage: 'sandbox' });
const importOf = (exportSuffix: string) => ({
  'Fn::ImportValue': Match.stringLikeRegexp(`^mlpipe-sandbox-data-lake:${exportSuffix}`),
});

describe('IngestStack', () => {
  test('creates a Direct PUT stream encrypted with the lake key', () => {
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamName: 'mlpipe-sandbox-events',
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: {
        KeyType: 'CUSTOMER_MANAGED_CMK',
        KeyARN: importOf('ExportsOutputFnGetAttEncryptionKey'),
      },
    });
  });

  test('converts JSON to Snappy Parquet through the Glue table schema', () => {
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        DataFormatConversionConfiguration: {
          Enabled: true,
          InputFormatConfiguration: { Deserializer: { HiveJsonSerDe: { TimestampFormats: ['millis'] } } },
          OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } } },
          SchemaConfiguration: Match.objectLike({
            DatabaseName: importOf('ExportsOutputRefCatalogDatabase'),
            TableName: importOf('ExportsOutputRefCatalogRawEventsTable'),
            VersionId: 'LATEST',
          }),
        },
      }),
    });
  });

  test('writes Hive-style hourly partitions, keeps failures under an error prefix, and encrypts with the key', () => {
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BucketARN: importOf('ExportsOutputFnGetAttStorageRawBucket'),
        Prefix: 'events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/',
        ErrorOutputPrefix:
          'errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/',
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 60 },
        EncryptionConfiguration: {
          KMSEncryptionConfig: { AWSKMSKeyARN: importOf('ExportsOutputFnGetAttEncryptionKey') },
        },
        CloudWatchLoggingOptions: Match.objectLike({ Enabled: true }),
        CompressionFormat: Match.absent(),
      }),
    });
  });

  test('logs delivery errors to an encrypted log group with the stage retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 14,
      KmsKeyId: importOf('ExportsOutputFnGetAttEncryptionKey'),
    });
  });

  test('lets Firehose write only the events and errors prefixes, never delete, and read only its table', () => {
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy'));
    const statements: { Sid: string; Action: string[]; Resource: unknown }[] =
      policy.Properties.PolicyDocument.Statement;
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(Object.keys(bySid).sort()).toEqual([
      'EncryptWithLakeKey',
      'ListRawBucket',
      'LogDeliveryErrors',
      'ReadParquetSchema',
      'WriteRawObjects',
    ]);
    expect(bySid.WriteRawObjects.Action).toEqual(['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject']);
    const objectSuffixes = (bySid.WriteRawObjects.Resource as { 'Fn::Join': [string, unknown[]] }[]).map(
      (arn) => arn['Fn::Join'][1][1],
    );
    expect(objectSuffixes.sort()).toEqual(['/errors/*', '/events/*']);
    expect(bySid.ReadParquetSchema.Action).toEqual(['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions']);
    const allActions = statements.flatMap((s) => s.Action);
    expect(allActions.filter((a) => a.includes('Delete') || a.endsWith('*'))).toEqual([]);
  });

  test('trusts only Firehose acting for this account and creates the policy before the stream', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'firehose.amazonaws.com' },
            Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'AWS::AccountId' } } },
          }),
        ],
      },
    });
    template.hasResource('AWS::KinesisFirehose::DeliveryStream', {
      DependsOn: Match.arrayWith([Match.stringLikeRegexp('^DeliveryDeliveryRoleDefaultPolicy')]),
    });
  });

  test('matches the snapshot', () => {
    expect(normalizedTemplate(template)).toMatchSnapshot();
  });
});

describe('ParquetDeliveryStream validation', () => {
  const stack = new Stack(testApp(), 'Test');
  const bucket = new s3.Bucket(stack, 'Raw');
  const database = new glue.Database(stack, 'Db', { databaseName: 'db' });
  const table = new glue.S3Table(stack, 'Table', {
    database,
    columns: [{ name: 'id', type: glue.Schema.STRING }],
    dataFormat: glue.DataFormat.PARQUET,
    storage: glue.S3TableStorage.fromBucket(bucket),
  });
  const props = {
    deliveryStreamName: 'events',
    purpose: 'test records',
    rawBucket: bucket,
    dataPrefix: 'events/',
    errorPrefix: 'errors/',
    table,
    encryptionKey: new kms.Key(stack, 'Key'),
    bufferInterval: Duration.seconds(60),
    logRetention: 14,
  };

  test('rejects a buffer below the 64 MiB that Parquet conversion needs', () => {
    expect(() => new ParquetDeliveryStream(stack, 'Small', { ...props, bufferSize: Size.mebibytes(32) })).toThrow(
      'ParquetDeliveryStream: bufferSize (32 MiB) must be 64 to 128 MiB, the range Firehose allows with Parquet conversion',
    );
  });

  test.each([
    [{ dataPrefix: 'events' }, "dataPrefix 'events' must be one folder"],
    [{ errorPrefix: 'raw/errors/' }, "errorPrefix 'raw/errors/' must be one folder"],
    [{ errorPrefix: 'events/' }, "dataPrefix and errorPrefix are both 'events/'"],
  ])('rejects prefixes %j', (prefixes, message) => {
    expect(
      () =>
        new ParquetDeliveryStream(stack, `Prefixes${message.length}`, {
          ...props,
          bufferSize: Size.mebibytes(64),
          ...prefixes,
        }),
    ).toThrow(message);
  });

  test('rejects a buffering interval above 900 seconds', () => {
    expect(
      () =>
        new ParquetDeliveryStream(stack, 'Slow', {
          ...props,
          bufferSize: Size.mebibytes(64),
          bufferInterval: Duration.seconds(901),
        }),
    ).toThrow('ParquetDeliveryStream: bufferInterval (901 s) must be 0 to 900 s, the range Firehose allows');
  });
});
