import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { EXAMPLE_TRANSACTION_FEATURES } from '../../../lib/schema/feature-schema';
import { sigV4Signer } from '../../../scripts/predict/http';
import { checkHealth, predictRecords } from '../../../scripts/predict/run';
import { type Received, useFakeApi } from './fake-api';

const SIGNING = { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'dummy-secret' } };
const api = useFakeApi();

describe('SigV4 signing', () => {
  /** Recomputes the signature from what the server received, the way API Gateway checks it. */
  async function expectedAuthorization(request: Received, body: string): Promise<string> {
    const authorization = String(request.headers.authorization);
    const signedNames = /SignedHeaders=([^,]+)/.exec(authorization)?.[1].split(';') ?? [];
    // The payload hash is left out so the verifier hashes the body itself, as a check of the body must.
    const headers = Object.fromEntries(
      signedNames
        .filter((name) => name !== 'x-amz-content-sha256')
        .map((name) => [name, String(request.headers[name])]),
    );
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(String(request.headers['x-amz-date']));
    if (date === null) throw new Error(`x-amz-date ${request.headers['x-amz-date']} is not a SigV4 date`);
    const signingDate = new Date(`${date[1]}-${date[2]}-${date[3]}T${date[4]}:${date[5]}:${date[6]}Z`);
    const verifier = new SignatureV4({ service: 'execute-api', ...SIGNING, sha256: Sha256 });
    const signed = await verifier.sign(
      {
        method: request.method,
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: request.path,
        query: {},
        headers,
        body,
      },
      { signingDate },
    );
    return String(signed.headers.authorization);
  }

  test('with a signer every request carries an AWS4-HMAC-SHA256 signature over its host, key and body', async () => {
    await predictRecords(
      api.target({ signer: sigV4Signer(SIGNING) }),
      [{ features: EXAMPLE_TRANSACTION_FEATURES, source: 'x' }],
      10,
    );

    const [request] = api.received;
    const authorization = String(request.headers.authorization);
    expect(authorization.startsWith('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/')).toBe(true);
    expect(authorization).toContain('/eu-west-1/execute-api/aws4_request');
    expect(request.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(authorization).toMatch(/SignedHeaders=[^,]*host;[^,]*x-api-key/);
    expect(authorization).toBe(await expectedAuthorization(request, request.body));
    // The check above would catch a signature over anything but what was sent.
    expect(authorization).not.toBe(await expectedAuthorization(request, `${request.body} `));
  });

  test('without a signer no request is signed', async () => {
    await checkHealth(api.target());
    expect(api.received[0].headers.authorization).toBeUndefined();
    expect(api.received[0].headers['x-amz-date']).toBeUndefined();
  });
});
