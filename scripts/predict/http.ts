/**
 * Calling the inference API: one HTTP request with the API key, signed with SigV4 when the stage uses IAM
 * authorization, and its answer, parsed as JSON when it is JSON.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { ToolError } from '../lib/cli';
import { errorMessage } from './json';
import type { ApiLocation } from './location';

export interface OutgoingRequest {
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Returns the headers to send for a request, with whatever authentication it adds. */
export type RequestSigner = (request: OutgoingRequest) => Promise<Record<string, string>>;

type SignerCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

/**
 * SigV4 for `api.authorization: iam`: API Gateway checks the signature of service `execute-api` over the method,
 * path, the signed headers (host and the API key among them) and the body.
 */
export function sigV4Signer(options: {
  readonly credentials: SignerCredentials;
  readonly region: string;
}): RequestSigner {
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  return async (request) => {
    const signed = await signer.sign({
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      ...(request.url.port === '' ? {} : { port: Number(request.url.port) }),
      path: request.url.pathname,
      query: {},
      // fetch sets Host from the URL and ignores one passed in, so sign exactly the value it will send.
      headers: { ...request.headers, host: request.url.host },
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    return Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name.toLowerCase() !== 'host'));
  };
}

export interface ApiTarget extends ApiLocation {
  readonly signer?: RequestSigner;
  /** Longest wait for one answer; API Gateway itself gives up after 29 s. */
  readonly timeoutMs: number;
}

/** One HTTP answer: the status, and the body parsed as JSON when it is JSON. */
export interface ApiAnswer {
  readonly status: number;
  readonly statusText: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  readonly json: unknown;
  readonly text: string;
}

/** Sends one request; a network failure or timeout is a ToolError, any HTTP status is an answer. */
export async function callApi(
  target: ApiTarget,
  method: 'GET' | 'POST',
  path: 'predict' | 'health',
  body?: unknown,
): Promise<ApiAnswer> {
  const url = new URL(path, target.baseUrl);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = {
    accept: 'application/json',
    'x-api-key': target.apiKey,
    ...(text === undefined ? {} : { 'content-type': 'application/json' }),
  };
  const request: OutgoingRequest = { method, url, headers, ...(text === undefined ? {} : { body: text }) };
  const sent = target.signer === undefined ? headers : await target.signer(request);
  let response: Response;
  try {
    response = await fetch(url, { method, headers: sent, body: text, signal: AbortSignal.timeout(target.timeoutMs) });
  } catch (error) {
    // By name, not instanceof: the DOMException fetch throws may come from another realm (e.g. under jest).
    const name = (error as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new ToolError(
        `${method} ${url.href} did not answer within ${target.timeoutMs / 1000} s. ` +
          'Retry, send fewer records per request, or raise --timeout.',
      );
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new ToolError(
      `Could not reach ${url.href} (${cause?.code ?? cause?.message ?? errorMessage(error)}). ` +
        'Check --url, or drop it to use the Serving stack output, and your network connection.',
    );
  }
  const answer = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(answer);
  } catch {
    json = undefined;
  }
  return { status: response.status, statusText: response.statusText, json, text: answer };
}
