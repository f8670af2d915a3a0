import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { PipelineFunction } from '../../lib/shared/pipeline-function';
import { bareStack } from '../helpers';

const build = (environment: { [name: string]: string }) => {
  const stack = bareStack();
  new PipelineFunction(stack, 'Fn', {
    entry: 'evaluate-training',
    description: 'test',
    environment,
    encryptionKey: new kms.Key(stack, 'Key'),
    logRetention: 14,
  });
  return Template.fromStack(stack);
};

describe('PipelineFunction', () => {
  test('keeps its log group on stack deletion unless told otherwise', () => {
    build({}).hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain', Properties: { RetentionInDays: 14 } });
  });

  test("rejects an environment over Lambda's 4 KB, naming the largest variable", () => {
    expect(() => build({ SMALL: 'x', BIG: 'y'.repeat(4100) })).toThrow(
      /PipelineFunction Test\/Fn: environment takes \d+ bytes, over the 4096 Lambda allows .*the largest, BIG, takes 4100/,
    );
  });

  test('accepts an environment just under the limit', () => {
    // 4096 bytes less the names (Lambda's start with a letter and have two characters at least) and NODE_OPTIONS.
    expect(() => build({ AB: 'a'.repeat(4096 - 2 - 12 - 21) })).not.toThrow();
  });
});
