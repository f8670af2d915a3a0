import { installStreamingRuntime, invokeStreaming, PRELUDE_CONTENT_TYPE } from '../../scripts/lib/streaming-runtime';

/** The stand-in for Lambda's streaming runtime refuses what the runtime and API Gateway would not take. */
installStreamingRuntime();
type Stream = NodeJS.WritableStream & { setContentType(type: string): void; writableEnded: boolean };
const streamify = (fn: (event: unknown, stream: Stream) => Promise<void>) =>
  (globalThis as unknown as { awslambda: { streamifyResponse: <T>(f: T) => T } }).awslambda.streamifyResponse(fn);
const from = (stream: Stream, prelude: object): Stream =>
  (
    globalThis as unknown as { awslambda: { HttpResponseStream: { from: (s: Stream, p: object) => Stream } } }
  ).awslambda.HttpResponseStream.from(stream, prelude);

describe('the streaming runtime stand-in', () => {
  test('reads the prelude and the body as API Gateway does', async () => {
    const handler = streamify(async (_event, stream) => {
      const out = from(stream, { statusCode: 201, headers: { 'content-type': 'text/plain' } });
      out.write('hello ');
      out.write('world');
      out.end();
    });
    const response = await invokeStreaming(handler, {});
    expect(response).toMatchObject({ statusCode: 201, headers: { 'content-type': 'text/plain' }, body: 'hello world' });
  });

  test('refuses a body passed to end(), which the runtime would send without the prelude', async () => {
    const handler = streamify(async (_event, stream) => {
      from(stream, { statusCode: 200 }).end('body' as never);
    });
    await expect(invokeStreaming(handler, {})).rejects.toThrow(/data given to end\(\) without the prelude/);
  });

  test('refuses a handler the runtime would not stream, and one that never ends its stream', async () => {
    await expect(invokeStreaming(async () => undefined, {})).rejects.toThrow(/streamifyResponse/);
    const unended = streamify(async (_event, stream) => {
      from(stream, { statusCode: 200 }).write('x');
    });
    await expect(invokeStreaming(unended, {})).rejects.toThrow(/before it ended the response stream/);
  });

  test('refuses output without the integration-response content type or the delimiter', async () => {
    const plain = streamify(async (_event, stream) => {
      stream.write('{"statusCode":200}');
      stream.end();
    });
    await expect(invokeStreaming(plain, {})).rejects.toThrow(new RegExp(`not ${PRELUDE_CONTENT_TYPE}`));
    const late = streamify(async (_event, stream) => {
      stream.write('x');
      expect(() => from(stream, { statusCode: 200 })).toThrow(/too late/);
      stream.end();
    });
    await expect(invokeStreaming(late, {})).rejects.toThrow(/content type/);
  });
});
