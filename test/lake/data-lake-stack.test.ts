import { Match } from 'aws-cdk-lib/assertions';
import { TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { normalizedTemplate, synthPipeline, templateText } from '../helpers';

const { dataLake: template } = synthPipeline({ stage: 'sandbox' });

/** Bucket resources keyed by logical id. */
const buckets = template.findResources('AWS::S3::Bucket');
const dataBucketIds = Object.keys(buckets).filter((id) => !id.startsWith('StorageAccessLogs'));

describe('DataLakeStack (sandbox)', () => {
  test('pins the logical ids of the key and the buckets, so a refactor cannot replace stored data', () => {
    expect(Object.keys(template.findResources('AWS::KMS::Key'))).toEqual(['EncryptionKey3A692D6E']);
    expect(Object.keys(buckets).sort()).toEqual([
      'StorageAccessLogs96FB524C',
      'StorageAthenaResultsBucket2CD0D8C8',
      'StorageCheckpointsBucket4D6C34B7',
      'StorageCuratedBucketFD39404E',
      'StorageModelsBucket3FAC5E13',
      'StorageRawBucketCFA2C318',
    ]);
    expect(Object.keys(template.findResources('AWS::Glue::Table'))).toEqual([
      'CatalogRawEventsTableDB4B591A',
      'CatalogPredictionsTable39465758',
      'CatalogBaselinesTable6D606A1A',
      'CatalogMonitoringTable56CC9840',
    ]);
  });

  test('creates a rotating customer-managed key that only AWS services may receive grants on', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      PendingWindowInDays: 7,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'AllowCloudWatchLogsForThisAccountLogGroups', Effect: 'Allow' }),
          Match.objectLike({
            Sid: 'DenyGrantsExceptForAwsServices',
            Effect: 'Deny',
            Action: 'kms:CreateGrant',
            Condition: {
              BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
            },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/mlpipe-sandbox-data' });
  });

  test('encrypts every data bucket with the lake key and a bucket key', () => {
    expect(dataBucketIds).toHaveLength(5);
    for (const id of dataBucketIds) {
      expect(buckets[id].Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: { 'Fn::GetAtt': ['EncryptionKey3A692D6E', 'Arn'] },
          },
        },
      ]);
    }
  });

  test('blocks public access, disables ACLs and logs access on every data bucket', () => {
    for (const id of dataBucketIds) {
      const props = buckets[id].Properties;
      expect(props.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(props.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      expect(props.LoggingConfiguration.DestinationBucketName).toEqual({ Ref: 'StorageAccessLogs96FB524C' });
      expect(props.NotificationConfiguration).toEqual({ EventBridgeConfiguration: { EventBridgeEnabled: true } });
    }
  });

  test('denies every request that is not TLS 1.2 or newer on every bucket', () => {
    const policies = template.findResources('AWS::S3::BucketPolicy');
    expect(Object.keys(policies)).toHaveLength(6);
    for (const policy of Object.values(policies)) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          }),
        ]),
      );
    }
  });

  test('versions the raw and model buckets, whose data cannot be recreated, and expires old versions', () => {
    for (const id of ['StorageRawBucketCFA2C318', 'StorageModelsBucket3FAC5E13']) {
      const props = buckets[id].Properties;
      expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(props.LifecycleConfiguration.Rules).toContainEqual(
        expect.objectContaining({ Id: 'ExpireNoncurrentVersions', NoncurrentVersionExpiration: { NoncurrentDays: 7 } }),
      );
    }
    for (const id of [
      'StorageCuratedBucketFD39404E',
      'StorageAthenaResultsBucket2CD0D8C8',
      'StorageCheckpointsBucket4D6C34B7',
    ]) {
      expect(buckets[id].Properties.VersioningConfiguration).toBeUndefined();
    }
  });

  test('tiers aging raw events to Standard-IA and Glacier Instant Retrieval', () => {
    expect(buckets.StorageRawBucketCFA2C318.Properties.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({
        Id: 'TierAgingRawEvents',
        Prefix: 'events/',
        Status: 'Enabled',
        Transitions: [
          { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
          { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
        ],
      }),
    );
  });

  test('expires query results, checkpoints, training exports, access logs and delivery errors after the configured days', () => {
    const rule = (id: string, ruleId: string) =>
      buckets[id].Properties.LifecycleConfiguration.Rules.find((r: { Id: string }) => r.Id === ruleId);
    expect(rule('StorageAthenaResultsBucket2CD0D8C8', 'ExpireQueryResults').ExpirationInDays).toBe(7);
    expect(rule('StorageCheckpointsBucket4D6C34B7', 'ExpireCheckpoints').ExpirationInDays).toBe(7);
    expect(rule('StorageCuratedBucketFD39404E', 'ExpireTrainingExports')).toMatchObject({
      Prefix: 'training-exports/',
      ExpirationInDays: 14,
    });
    expect(rule('StorageAccessLogs96FB524C', 'ExpireAccessLogs').ExpirationInDays).toBe(30);
    expect(rule('StorageRawBucketCFA2C318', 'ExpireDeliveryErrors')).toMatchObject({
      Prefix: 'errors/',
      ExpirationInDays: 14,
    });
    for (const bucket of Object.values(buckets)) {
      expect(bucket.Properties.LifecycleConfiguration.Rules).toContainEqual(
        expect.objectContaining({
          Id: 'AbortIncompleteUploads',
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        }),
      );
    }
  });

  test('keeps server access logs in an SSE-S3 bucket, the only encryption S3 log delivery supports', () => {
    expect(buckets.StorageAccessLogs96FB524C.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
    ]);
  });

  test('deletes buckets with their objects on cdk destroy in the sandbox', () => {
    for (const [id, bucket] of Object.entries(buckets)) {
      expect({ id, policy: bucket.DeletionPolicy }).toEqual({ id, policy: 'Delete' });
    }
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 6);
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  test('deletes the fixed-name Glue database, table and security configuration with the sandbox stack', () => {
    for (const type of ['AWS::Glue::Database', 'AWS::Glue::Table', 'AWS::Glue::SecurityConfiguration']) {
      template.hasResource(type, { DeletionPolicy: 'Delete' });
    }
  });

  test('defines the raw events table from the feature schema, partitioned Hive-style by hour', () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: { Ref: 'CatalogDatabase44483CA3' },
      TableInput: {
        Name: 'transactions',
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: ['year', 'month', 'day', 'hour'].map((name) => ({ Name: name, Type: 'string' })),
        StorageDescriptor: Match.objectLike({
          Columns: TRANSACTION_SCHEMA.fields.map((f) => Match.objectLike({ Name: f.name })),
          Location: {
            'Fn::Join': ['', ['s3://', { Ref: 'StorageRawBucketCFA2C318' }, '/events/']],
          },
          InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        }),
      },
    });
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'mlpipe_sandbox_lake' } });
  });

  test('maps schema types to Glue column types', () => {
    const table = Object.values(template.findResources('AWS::Glue::Table'))[0];
    const types = Object.fromEntries(
      table.Properties.TableInput.StorageDescriptor.Columns.map((c: { Name: string; Type: string }) => [
        c.Name,
        c.Type,
      ]),
    );
    expect(types).toMatchObject({
      transaction_id: 'string',
      event_time: 'timestamp',
      amount: 'double',
      transactions_last_24h: 'int',
      card_present: 'boolean',
      is_fraud: 'boolean',
    });
  });

  test('crawls the catalog table for partitions without ever rewriting its columns', () => {
    template.hasResourceProperties('AWS::Glue::Crawler', {
      Name: 'mlpipe-sandbox-raw-partitions',
      Targets: { CatalogTargets: [{ DatabaseName: 'mlpipe_sandbox_lake', Tables: ['transactions'] }] },
      SchemaChangePolicy: { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' },
      Schedule: { ScheduleExpression: 'cron(30 2 * * ? *)' },
      CrawlerSecurityConfiguration: { Ref: Match.stringLikeRegexp('^CatalogCrawlerSecurity') },
      Configuration: JSON.stringify({
        Version: 1.0,
        CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } },
      }),
    });
  });

  test('projects the hourly partitions of the inference log, so the monitor sees the last hour without a crawl', () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'predictions',
        PartitionKeys: ['year', 'month', 'day', 'hour'].map((Name) => ({ Name, Type: 'string' })),
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.year.type': 'integer',
          'projection.year.range': '2025,2099',
          'projection.month.range': '1,12',
          'projection.month.digits': '2',
          'projection.hour.range': '0,23',
          'projection.hour.digits': '2',
          'storage.location.template': {
            'Fn::Join': [
              '',
              [
                's3://',
                { Ref: 'StorageRawBucketCFA2C318' },
                '/predictions/year=${year}/month=${month}/day=${day}/hour=${hour}/',
              ],
            ],
          },
        }),
      }),
    });
  });

  test("projects each run's baseline from its folder next to the model, so no crawler or partition is needed", () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'baselines',
        PartitionKeys: [{ Name: 'run', Type: 'string' }],
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.run.type': 'injected',
          'storage.location.template': {
            'Fn::Join': ['', ['s3://', { Ref: 'StorageModelsBucket3FAC5E13' }, '/models/${run}/baseline/']],
          },
        }),
      }),
    });
  });

  test('clears the schedule of a crawler switched to on-demand, which a missing Schedule would keep', () => {
    const onDemand = synthPipeline({ overrides: { crawler: { schedule: null } } }).dataLake;
    onDemand.hasResourceProperties('AWS::Glue::Crawler', { Schedule: { ScheduleExpression: '' } });
  });

  test('encrypts crawler logs with the lake key and keeps them for the stage retention', () => {
    template.hasResourceProperties('AWS::Glue::SecurityConfiguration', {
      EncryptionConfiguration: {
        CloudWatchEncryption: {
          CloudWatchEncryptionMode: 'SSE-KMS',
          KmsKeyArn: { 'Fn::GetAtt': ['EncryptionKey3A692D6E', 'Arn'] },
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws-glue/crawlers-role/mlpipe-sandbox-crawler-mlpipe-sandbox-crawler',
      RetentionInDays: 14,
      KmsKeyId: { 'Fn::GetAtt': ['EncryptionKey3A692D6E', 'Arn'] },
    });
  });

  test('lets the crawler role read only the raw events prefix and register partitions of its one table', () => {
    const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) =>
      JSON.stringify(p.Properties.Roles).includes('CatalogCrawlerRole'),
    );
    const statements: { Action: string | string[]; Resource: unknown }[] = policy!.Properties.PolicyDocument.Statement;
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => a.startsWith('s3:'))).toEqual(['s3:GetBucket*', 's3:GetObject*', 's3:List*']);
    expect(actions.some((a) => /^s3:(Put|Delete)/.test(a) || a === 'glue:*' || a === 's3:*')).toBe(false);
    expect(JSON.stringify(statements)).toContain('/events/*');
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'mlpipe-sandbox-crawler',
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'glue.amazonaws.com' } })],
      },
      ManagedPolicyArns: Match.absent(),
    });
  });

  test('enforces the Athena workgroup settings: engine v3, KMS-encrypted results, scan cutoff, metrics', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'mlpipe-sandbox-analytics',
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 1024 * 1024 * 1024,
        ResultConfiguration: {
          OutputLocation: {
            'Fn::Join': ['', ['s3://', { Ref: 'StorageAthenaResultsBucket2CD0D8C8' }, '/query-results/']],
          },
          EncryptionConfiguration: {
            EncryptionOption: 'SSE_KMS',
            KmsKey: { 'Fn::GetAtt': ['EncryptionKey3A692D6E', 'Arn'] },
          },
        },
      },
    });
  });

  test('saves the latest-partition, data-quality and export queries in the workgroup', () => {
    const queries = template.findResources('AWS::Athena::NamedQuery');
    const names = Object.values(queries).map((q) => q.Properties.Name);
    expect(names.sort()).toEqual(
      ['ExportTrainingData', 'LabelBalance', 'LatestPartition', 'NullCounts'].map(
        (n) => `mlpipe-sandbox-analytics-${n}`,
      ),
    );
    for (const query of Object.values(queries)) {
      expect(query.Properties.WorkGroup).toEqual({ Ref: 'QueriesWorkGroup8009DE2E' });
      expect(query.Properties.Database).toEqual({ Ref: 'CatalogDatabase44483CA3' });
    }
  });

  test("saves the export query with the pipeline's own split and window, from the stage config", () => {
    const tuned = synthPipeline({
      overrides: { training: { validationPercent: 30, exportWindowDays: 7 } },
    }).dataLake;
    const [query] = Object.values(tuned.findResources('AWS::Athena::NamedQuery')).filter((q) =>
      String(q.Properties.Name).endsWith('-ExportTrainingData'),
    );
    const sql = templateText(query.Properties.QueryString);
    expect(sql).toContain("% 100 < 70 THEN 'train' ELSE 'validation' END");
    expect(sql).toContain("current_date - INTERVAL '6' DAY");
    expect(sql).toContain("partitioned_by = ARRAY['split']");
  });

  test('matches the snapshot', () => {
    expect(normalizedTemplate(template)).toMatchSnapshot();
  });
});

describe('DataLakeStack (prod)', () => {
  const { dataLake: prod, stacks } = synthPipeline({ stage: 'prod' });

  test('retains buckets and the key on stack deletion and never empties buckets', () => {
    for (const bucket of Object.values(prod.findResources('AWS::S3::Bucket'))) {
      expect(bucket.DeletionPolicy).toBe('Retain');
    }
    prod.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
    prod.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    prod.hasResourceProperties('AWS::Athena::WorkGroup', { RecursiveDeleteOption: true });
  });

  test('deletes the re-creatable catalog entries even in prod, where the data they describe stays', () => {
    for (const type of ['AWS::Glue::Database', 'AWS::Glue::Table', 'AWS::Glue::SecurityConfiguration']) {
      prod.hasResource(type, { DeletionPolicy: 'Delete' });
    }
  });

  test('protects the stack against termination and keeps logs for a year', () => {
    expect(stacks.dataLake.terminationProtection).toBe(true);
    prod.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test('crawls hourly', () => {
    prod.hasResourceProperties('AWS::Glue::Crawler', { Schedule: { ScheduleExpression: 'cron(15 * * * ? *)' } });
  });
});
