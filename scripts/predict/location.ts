/**
 * Where the inference API is: its URL and key, given on the command line or read from the Serving stack's outputs
 * and API Gateway, and the region its requests are signed for.
 */
import { GetApiKeyCommand, type APIGatewayClient } from '@aws-sdk/client-api-gateway';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { STACK_OUTPUTS } from '../../lib/contract/stacks';
import { ToolError, UsageError } from '../lib/cli';
import { readStackOutputs } from '../lib/stage';

/** The API's base URL, checked and ending in a slash so `predict` and `health` resolve below the stage. */
function apiBaseUrl(value: string, origin: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `${origin} ${JSON.stringify(value)} is not a URL; pass the ApiUrl output, e.g. https://<id>.execute-api.<region>.amazonaws.com/v1/`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${origin} ${JSON.stringify(value)} must be an http(s) URL`);
  }
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  url.search = '';
  url.hash = '';
  return url;
}

export interface ApiLocation {
  readonly baseUrl: URL;
  readonly apiKey: string;
}

/**
 * The API's URL and key: from `--url` / `--api-key` when given, otherwise from the Serving stack's outputs and
 * API Gateway (the key's value is never an output, only its id). Makes no AWS call when both are given.
 */
export async function resolveApiLocation(
  clients: { readonly cloudFormation: CloudFormationClient; readonly apiGateway: APIGatewayClient },
  servingStackName: string,
  overrides: { readonly url?: string; readonly apiKey?: string },
): Promise<ApiLocation> {
  const keys = [
    ...(overrides.url === undefined ? [STACK_OUTPUTS.apiUrl] : []),
    ...(overrides.apiKey === undefined ? [STACK_OUTPUTS.apiKeyId] : []),
  ];
  const outputs: Partial<Record<string, string>> =
    keys.length === 0 ? {} : await readStackOutputs(clients.cloudFormation, servingStackName, keys);
  const baseUrl =
    overrides.url === undefined
      ? apiBaseUrl(outputs[STACK_OUTPUTS.apiUrl] ?? '', `Output ${STACK_OUTPUTS.apiUrl} of ${servingStackName}`)
      : apiBaseUrl(overrides.url, '--url');
  if (overrides.apiKey !== undefined) return { baseUrl, apiKey: overrides.apiKey };

  const keyId = outputs[STACK_OUTPUTS.apiKeyId] ?? '';
  let value: string | undefined;
  try {
    ({ value } = await clients.apiGateway.send(new GetApiKeyCommand({ apiKey: keyId, includeValue: true })));
  } catch (error) {
    const { name, message } = error as { name?: string; message?: string };
    if (name === 'NotFoundException') {
      throw new ToolError(
        `API key ${keyId} (output ${STACK_OUTPUTS.apiKeyId} of ${servingStackName}) no longer exists. ` +
          'Redeploy the Serving stack: npx cdk deploy --all',
      );
    }
    if (name === 'AccessDeniedException' || name === 'UnauthorizedException') {
      throw new ToolError(
        `Not allowed to read the value of API key ${keyId} (${message ?? name}). ` +
          `Use credentials with apigateway:GET on /apikeys/${keyId}, or pass the key with --api-key.`,
      );
    }
    throw error;
  }
  if (value === undefined || value === '') {
    throw new ToolError(`API Gateway returned no value for API key ${keyId}; pass the key with --api-key.`);
  }
  return { baseUrl, apiKey: value };
}

/** The region in an execute-api host name (`<id>.execute-api.<region>.amazonaws.com`), or undefined for other hosts. */
export function regionFromUrl(url: URL): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];
}
