import { Template } from 'aws-cdk-lib/assertions';
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

  test('rejects a batch limit below one record', () => {
    expect(() => build({ maxBatchSize: 0 })).toThrow(
      'InferenceApi: maxBatchSize is 0; pass a whole number of at least 1',
    );
  });
});
