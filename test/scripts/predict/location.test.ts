import { APIGatewayClient, GetApiKeyCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { ToolError } from '../../../scripts/lib/cli';
import { regionFromUrl, resolveApiLocation } from '../../../scripts/predict/location';

/** Any URL will do where --url is given: these tests send no request to it. */
const baseUrl = new URL('http://127.0.0.1:8080/v1/');

describe('finding the API', () => {
  const cloudFormation = new CloudFormationClient({ region: 'eu-west-1' });
  const apiGateway = new APIGatewayClient({ region: 'eu-west-1' });
  const cfnMock = mockClient(cloudFormation);
  const apiGatewayMock = mockClient(apiGateway);
  const stack = (outputs: Record<string, string>) => ({
    Stacks: [
      {
        StackName: 'mlpipe-sandbox-serving',
        CreationTime: new Date(0),
        StackStatus: 'CREATE_COMPLETE' as const,
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });

  beforeEach(() => {
    cfnMock.reset();
    apiGatewayMock.reset();
  });

  test("the URL and the key's value come from the Serving stack's outputs and GetApiKey", async () => {
    cfnMock
      .on(DescribeStacksCommand, { StackName: 'mlpipe-sandbox-serving' })
      .resolves(stack({ ApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1', ApiKeyId: 'key-id-1' }));
    apiGatewayMock.on(GetApiKeyCommand).resolves({ id: 'key-id-1', value: 'secret-value' });

    const location = await resolveApiLocation({ cloudFormation, apiGateway }, 'mlpipe-sandbox-serving', {});

    expect(location.baseUrl.href).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com/v1/');
    expect(location.apiKey).toBe('secret-value');
    expect(apiGatewayMock.commandCalls(GetApiKeyCommand).map((call) => call.args[0].input)).toEqual([
      { apiKey: 'key-id-1', includeValue: true },
    ]);
  });

  test('--url and --api-key make no AWS call', async () => {
    const location = await resolveApiLocation({ cloudFormation, apiGateway }, 'mlpipe-sandbox-serving', {
      url: baseUrl.href,
      apiKey: 'given',
    });
    expect(location).toEqual({ baseUrl, apiKey: 'given' });
    expect(cfnMock.calls()).toHaveLength(0);
    expect(apiGatewayMock.calls()).toHaveLength(0);
  });

  test('--url alone still reads the key from the stack', async () => {
    cfnMock.on(DescribeStacksCommand).resolves(stack({ ApiKeyId: 'key-id-2' }));
    apiGatewayMock.on(GetApiKeyCommand).resolves({ value: 'from-api-gateway' });
    const location = await resolveApiLocation({ cloudFormation, apiGateway }, 'mlpipe-sandbox-serving', {
      url: baseUrl.href,
    });
    expect(location).toEqual({ baseUrl, apiKey: 'from-api-gateway' });
  });

  test('a missing stack is the ToolError that says to deploy it', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Stack with id mlpipe-sandbox-serving does not exist'), { name: 'ValidationError' }),
      );
    await expect(resolveApiLocation({ cloudFormation, apiGateway }, 'mlpipe-sandbox-serving', {})).rejects.toThrow(
      new ToolError(
        'Stack mlpipe-sandbox-serving is not deployed in this account and region. Deploy it first: npx cdk deploy --all' +
          ' (or pass the stage it was deployed with: --stage <stage>)',
      ),
    );
    expect(apiGatewayMock.calls()).toHaveLength(0);
  });

  test('a key that is gone is a ToolError that says to redeploy', async () => {
    cfnMock.on(DescribeStacksCommand).resolves(stack({ ApiUrl: baseUrl.href, ApiKeyId: 'key-gone' }));
    apiGatewayMock
      .on(GetApiKeyCommand)
      .rejects(Object.assign(new Error('Invalid API Key identifier'), { name: 'NotFoundException' }));
    await expect(resolveApiLocation({ cloudFormation, apiGateway }, 'mlpipe-sandbox-serving', {})).rejects.toThrow(
      /API key key-gone .* no longer exists\. Redeploy the Serving stack/,
    );
  });

  test('the region is read from an execute-api host and not guessed for other hosts', () => {
    expect(regionFromUrl(new URL('https://a1b2c3d4e5.execute-api.ap-southeast-2.amazonaws.com/v1/'))).toBe(
      'ap-southeast-2',
    );
    expect(regionFromUrl(new URL('https://api.example.com/v1/'))).toBeUndefined();
  });
});
