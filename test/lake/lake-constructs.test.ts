import { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DataLakeStorage } from '../../lib/lake/data-lake-storage';
import { LakeKey } from '../../lib/lake/lake-key';
import { QueryWorkgroup } from '../../lib/lake/query-workgroup';
import { TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { bareStack } from '../helpers';

describe('DataLakeStorage on its own', () => {
  const storage = (props: Partial<ConstructorParameters<typeof DataLakeStorage>[2]> = {}) => {
    const stack = bareStack();
    new DataLakeStorage(stack, 'Storage', { encryptionKey: new kms.Key(stack, 'Key'), ...props });
    return Template.fromStack(stack);
  };

  test('retains every bucket and never empties one by default', () => {
    const buckets = Object.values(storage().findResources('AWS::S3::Bucket'));
    expect(buckets).toHaveLength(6);
    for (const bucket of buckets) expect(bucket.DeletionPolicy).toBe('Retain');
    storage().resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  test('deletes and empties every bucket when told to', () => {
    const template = storage({ removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true });
    for (const bucket of Object.values(template.findResources('AWS::S3::Bucket'))) {
      expect(bucket.DeletionPolicy).toBe('Delete');
    }
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 6);
  });

  test('applies a lifecycle duration it is given', () => {
    storage({ lifecycle: { checkpointsExpireAfter: Duration.days(3) } }).hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Id: 'ExpireCheckpoints', ExpirationInDays: 3 })]),
      },
    });
  });

  test('rejects a move to Standard-IA before the 30 days S3 allows', () => {
    expect(() => storage({ lifecycle: { rawInfrequentAccessAfter: Duration.days(10) } })).toThrow(
      'DataLakeStorage: lifecycle.rawInfrequentAccessAfter is 10 days, but S3 moves objects to Standard-IA after 30 days at the earliest',
    );
  });

  test('rejects a move to Glacier Instant Retrieval less than 30 days after Standard-IA', () => {
    expect(() =>
      storage({
        lifecycle: {
          rawInfrequentAccessAfter: Duration.days(40),
          rawGlacierInstantRetrievalAfter: Duration.days(60),
        },
      }),
    ).toThrow('it must be at least rawInfrequentAccessAfter + 30 (70 days)');
  });
});

describe('LakeKey on its own', () => {
  test('is retained by default and rotates yearly', () => {
    const stack = bareStack();
    new LakeKey(stack, 'Key', { aliasName: 'test-data' });
    Template.fromStack(stack).hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: { EnableKeyRotation: true },
    });
  });
});

describe('QueryWorkgroup on its own', () => {
  const workgroup = (bytesScannedCutoff: Size) => {
    const stack = bareStack();
    const key = new kms.Key(stack, 'Key');
    new QueryWorkgroup(stack, 'Queries', {
      workgroupName: 'test-analytics',
      schema: TRANSACTION_SCHEMA,
      database: new glue.Database(stack, 'Db', { databaseName: 'test_lake' }),
      resultsBucket: new s3.Bucket(stack, 'Results'),
      curatedBucket: new s3.Bucket(stack, 'Curated'),
      encryptionKey: key,
      bytesScannedCutoff,
    });
    return Template.fromStack(stack);
  };

  test('cancels queries above the cutoff it is given, in bytes', () => {
    workgroup(Size.gibibytes(1)).hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 1024 ** 3 }),
    });
  });

  test('rejects a cutoff below the 10 MiB Athena accepts', () => {
    expect(() => workgroup(Size.mebibytes(5))).toThrow(
      'QueryWorkgroup: bytesScannedCutoff is 5242880 bytes, below the 10 MiB Athena accepts',
    );
  });
});
