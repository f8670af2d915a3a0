import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kms from 'aws-cdk-lib/aws-kms';
import { TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { schemaFromJson } from '../../lib/schema/schema-json';
import { InferenceApi, type InferenceApiProps } from '../../lib/serving/inference-api';
import { bareStack } from '../helpers';

const build = (props: Partial<InferenceApiProps> = {}) => {
  const stack = bareStack();
  new InferenceApi(stack, 'Inference', {
    namePrefix: 'test',
    schema: TRANSACTION_SCHEMA,
    endpointName: 'test-fraud',
    inferenceLog: firehose.DeliveryStream.fromDeliveryStreamName(stack, 'Log', 'test-predictions'),
    encryptionKey: new kms.Key(stack, 'Key'),
    logRetention: 14,
    ...props,
  });
  return Template.fromStack(stack);
};

/** The predict function's environment variables. */
const variables = (template: Template): { [name: string]: string } => {
  const [predict] = Object.values(template.findResources('AWS::Lambda::Function')).filter(
    (fn) => fn.Properties.Handler === 'index.handler',
  );
  return predict.Properties.Environment.Variables;
};

describe('InferenceApi on its own', () => {
  test('hands the function the schema it was built with, which the request model also comes from', () => {
    expect(schemaFromJson(variables(build()).FEATURE_SCHEMA, 'FEATURE_SCHEMA').fields.map((f) => f.name)).toEqual(
      TRANSACTION_SCHEMA.fields.map((f) => f.name),
    );
  });

  test('signs requests with SigV4 (IAM authorization) by default', () => {
    build().hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', AuthorizationType: 'AWS_IAM' });
  });

  test('passes its threshold and batch limit to the function', () => {
    expect(variables(build({ decisionThreshold: 0.7, maxBatchSize: 5 }))).toMatchObject({
      DECISION_THRESHOLD: '0.7',
      MAX_BATCH_SIZE: '5',
    });
  });

  test.each([0, 1.5, Number.NaN])('rejects the decision threshold %d, which is no probability above 0', (value) => {
    expect(() => build({ decisionThreshold: value })).toThrow(
      `InferenceApi: decisionThreshold is ${value}; it is a fraud probability, pass a number above 0 up to 1`,
    );
  });

  test.each([0, 501])('rejects a batch limit of %i, outside what one PutRecordBatch call logs', (value) => {
    expect(() => build({ maxBatchSize: value })).toThrow(
      `InferenceApi: maxBatchSize is ${value}; pass a whole number from 1 to 500, the records one PutRecordBatch call takes`,
    );
  });

  test('passes the inference log stream and its time budget to the function, and lets it put records there only', () => {
    const template = build({ inferenceLogTimeout: Duration.millis(400) });
    expect(variables(template)).toMatchObject({
      INFERENCE_LOG_STREAM: 'test-predictions',
      INFERENCE_LOG_TIMEOUT_MS: '400',
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
            Resource: 'arn:aws:firehose:eu-west-1:123456789012:deliverystream/test-predictions',
          }),
        ]),
      },
    });
  });

  test.each([50, 3_001])('rejects an inference log budget of %i ms', (ms) => {
    expect(() => build({ inferenceLogTimeout: Duration.millis(ms) })).toThrow(
      `InferenceApi: inferenceLogTimeout is ${ms} ms; pass 100 ms to 3 s`,
    );
  });
});
