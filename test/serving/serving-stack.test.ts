import { Match } from 'aws-cdk-lib/assertions';
import { featureFields, TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { normalizedTemplate, synthPipeline } from '../helpers';

const { serving: template } = synthPipeline({ stage: 'sandbox' });
const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));

describe('the inference API', () => {
  test('is a regional REST API with POST /predict and GET /health', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'mlpipe-sandbox-inference',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    const routes = methods.map((m) => m.Properties.HttpMethod).sort();
    expect(routes).toEqual(['GET', 'POST']);
    for (const path of ['predict', 'health']) {
      template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: path });
    }
  });

  test("creates API Gateway's execution log group before the stage, with the stage's retention and the key", () => {
    const [id, group] = Object.entries(template.findResources('AWS::Logs::LogGroup')).find(([, g]) =>
      JSON.stringify(g.Properties.LogGroupName ?? '').includes('API-Gateway-Execution-Logs_'),
    )!;
    expect(group.Properties.RetentionInDays).toBe(14);
    expect(group.Properties.KmsKeyId).toBeDefined();
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: Match.anyValue() }, '/v1']] },
    });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
    expect(stage.DependsOn).toContain(id);
  });

  test('leaves no method open: every one needs an API key', () => {
    expect(methods).toHaveLength(2);
    for (const method of methods) expect(method.Properties.ApiKeyRequired).toBe(true);
  });

  test('requires SigV4 on every method by default, and the API key of the usage plan besides', () => {
    for (const method of methods) {
      expect(method.Properties).toMatchObject({ AuthorizationType: 'AWS_IAM', ApiKeyRequired: true });
    }
  });

  test('accepts the API key alone only when authorization is set to apiKey', () => {
    const keyOnly = synthPipeline({ overrides: { api: { authorization: 'apiKey' } } }).serving;
    for (const method of Object.values(keyOnly.findResources('AWS::ApiGateway::Method'))) {
      expect(method.Properties).toMatchObject({ AuthorizationType: 'NONE', ApiKeyRequired: true });
    }
  });

  test('validates the predict body against a model generated from the feature schema', () => {
    const [predict] = methods.filter((m) => m.Properties.HttpMethod === 'POST');
    expect(predict.Properties.RequestValidatorId).toBeDefined();
    expect(predict.Properties.RequestModels).toEqual({ 'application/json': expect.anything() });
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
    const [model] = Object.values(template.findResources('AWS::ApiGateway::Model'));
    const schema = model.Properties.Schema as {
      oneOf: { properties: Record<string, { enum?: string[] }>; required?: string[] }[];
    };
    const single = schema.oneOf[0];
    // The features, required, and the optional record id the inference log keeps to join labels later.
    expect(Object.keys(single.properties)).toEqual([
      ...featureFields(TRANSACTION_SCHEMA).map((f) => f.name),
      'transaction_id',
    ]);
    expect(single.properties.transaction_id).toEqual({ type: 'string', minLength: 1, maxLength: 128 });
    expect(single.required).toEqual(featureFields(TRANSACTION_SCHEMA).map((f) => f.name));
    expect(single.properties.channel.enum).toEqual(['chip', 'contactless', 'online', 'phone']);
    expect(JSON.stringify(schema.oneOf[1])).toContain('"maxItems":100');
  });

  test('answers a body that fails the model with the rule it broke, and logs why requests fail', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'BAD_REQUEST_BODY',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('validationErrorString') },
    });
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    const format = String(stage.Properties.AccessLogSetting.Format);
    for (const field of [
      '$context.error.validationErrorString',
      '$context.identity.apiKeyId',
      '$context.integrationStatus',
    ]) {
      expect(format).toContain(field);
    }
  });

  test('throttles and caps each key with a usage plan, and throttles the stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 10, BurstLimit: 20 },
      Quota: { Limit: 10000, Period: 'DAY' },
    });
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      MethodSettings: [
        Match.objectLike({
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          ThrottlingRateLimit: 10,
          ThrottlingBurstLimit: 20,
        }),
      ],
      AccessLogSetting: Match.objectLike({
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('"status"'),
      }),
    });
  });

  test('streams the function response, so the client has its answer before the inference log is sent', () => {
    // API Gateway calls InvokeWithResponseStream in STREAM mode: its own URI, not the 2015-03-31 invocations path.
    for (const method of methods) {
      const integration = method.Properties.Integration;
      expect(integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
      expect(integration.ResponseTransferMode).toBe('STREAM');
      const uri = JSON.stringify(integration.Uri);
      expect(uri).toContain(':lambda:path/2021-11-15/functions/');
      expect(uri).toContain('/response-streaming-invocations');
    }
    // The access log records the mode and its timings, so a deployed stage shows the answer ending before the log.
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    const format = JSON.parse(stage.Properties.AccessLogSetting.Format) as Record<string, string>;
    expect(format).toMatchObject({
      integrationLatency: '$context.integrationLatency',
      responseTransferMode: '$context.integration.responseTransferMode',
      timeToAllHeaders: '$context.integration.timeToAllHeaders',
      timeToFirstContent: '$context.integration.timeToFirstContent',
    });
  });

  test('runs the handler on Node.js 24 arm64, under the 29 s integration limit, with the endpoint name', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 25,
      MemorySize: 512,
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectLike({
          ENDPOINT_NAME: 'mlpipe-sandbox-fraud',
          DECISION_THRESHOLD: '0.5',
          MAX_BATCH_SIZE: '100',
        }),
      },
    });
  });

  test('lets the handler invoke and describe only the configured endpoint', () => {
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes('PredictFunction'),
    );
    const statement = policy.Properties.PolicyDocument.Statement.find(
      (s: { Sid?: string }) => s.Sid === 'InvokeAndDescribeTheEndpoint',
    );
    expect(statement.Action).toEqual(['sagemaker:DescribeEndpoint', 'sagemaker:InvokeEndpoint']);
    expect(JSON.stringify(statement.Resource)).toContain(':endpoint/mlpipe-sandbox-fraud');
  });

  test('matches the snapshot', () => {
    expect(normalizedTemplate(template)).toMatchSnapshot();
  });
});
