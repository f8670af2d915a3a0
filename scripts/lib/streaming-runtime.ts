/**
 * What Lambda's Node.js runtime gives a response-streaming function, for the bench and the tests that run
 * lambda/predict outside Lambda. Written from the runtime's source (aws/aws-lambda-nodejs-runtime-interface-client)
 * and API Gateway's documentation, and no more than the predict function uses:
 *
 * - The `awslambda` global the runtime sets before it loads a function (src/UserFunction.js): `streamifyResponse`
 *   marks the handler with the symbol the runtime reads to choose the streaming path, and `HttpResponseStream.from`
 *   sets the content type `application/vnd.awslambda.http-integration-response` and, before the first write, writes
 *   the JSON metadata prelude and 8 NUL bytes (src/HttpResponseStream.js). That is the output format API Gateway
 *   requires of a Lambda proxy integration in STREAM mode ("Set up a Lambda proxy integration with payload response
 *   streaming", API Gateway developer guide).
 * - The response stream: `end()` takes no data, as the runtime's does (src/ResponseStream.js, which passes end's
 *   argument straight to the request, skipping the prelude hook), so a body given to end() fails here.
 * - The invocation: the runtime awaits the handler's promise before it asks for the next event, and the caller has
 *   the whole response once the stream has ended (src/Runtime.js, handleOnceStreaming). Unlike the buffered path of
 *   an async handler, the streaming path then also waits for an empty event loop unless the handler has set
 *   `context.callbackWaitsForEmptyEventLoop = false` (src/StreamingContext.js); the result reports that setting. So a handler can end the
 *   response and go on working inside the same invocation, which AWS describes in "Running code after returning a
 *   response from an AWS Lambda function" (AWS Compute Blog).
 */
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';

/** The symbol and value the runtime reads to run a handler on its streaming path (src/UserFunction.js). */
export const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const STREAM_RESPONSE = 'response';
export const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = new Uint8Array(8);

/** A streaming handler as the runtime calls it. */
export type StreamingHandler = (event: unknown, responseStream: Writable, context: unknown) => Promise<unknown>;

/** The runtime's response stream: it collects what is written, and its end() takes no data. */
class ResponseStream extends Writable {
  readonly chunks: Buffer[] = [];
  contentType = 'application/octet-stream';
  /** Set by HttpResponseStream.from: writes the prelude before the first chunk. */
  _onBeforeFirstWrite: ((write: (chunk: string | Uint8Array) => void) => void) | undefined;
  private written = false;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk));
    callback();
  }

  setContentType(contentType: string): void {
    if (this.written) throw new Error('Cannot set content-type, too late.');
    this.contentType = contentType;
  }

  override write(chunk: string | Uint8Array, ...rest: never[]): boolean {
    if (!this.written) {
      this.written = true;
      this._onBeforeFirstWrite?.((first) => super.write(first));
    }
    return super.write(chunk, ...rest);
  }

  override end(...args: unknown[]): this {
    if (args.length > 0 && typeof args[0] !== 'function') {
      throw new Error("The runtime's response stream takes no data in end(): write the body, then end()");
    }
    return super.end(...(args as [() => void]));
  }
}

/** Installs the `awslambda` global, as the runtime does before it loads the function's module. */
export function installStreamingRuntime(): void {
  // Kept, not replaced: a library may have set the global already (Powertools puts its invocation store there).
  const global = globalThis as { awslambda?: { streamifyResponse?: unknown } };
  if (typeof global.awslambda?.streamifyResponse === 'function') return;
  global.awslambda = Object.assign(global.awslambda ?? {}, {
    streamifyResponse: <T extends object>(handler: T): T =>
      Object.assign(handler, { [HANDLER_STREAMING]: STREAM_RESPONSE }),
    HttpResponseStream: {
      from(stream: ResponseStream, prelude: object): ResponseStream {
        stream.setContentType(PRELUDE_CONTENT_TYPE);
        const metadata = JSON.stringify(prelude);
        stream._onBeforeFirstWrite = (write) => {
          write(metadata);
          write(DELIMITER);
        };
        return stream;
      },
    },
  });
}

/** What API Gateway makes of one streamed invocation, and when. */
export interface StreamedInvocation {
  readonly statusCode: number;
  readonly headers: { readonly [name: string]: string };
  readonly body: string;
  /** From the call to the response's end: when API Gateway has the whole answer for the client. */
  readonly answeredMs: number;
  /** From the call to the handler's end: when the invocation ends (and Lambda's billed duration with it). */
  readonly completedMs: number;
  /** Whether the runtime would hold the invocation open, after the handler, until the event loop is empty. */
  readonly waitsForEmptyEventLoop: boolean;
}

/**
 * Invokes a streaming handler as the runtime does and reads its output as API Gateway does: the JSON prelude up to
 * the first 8 NUL bytes, then the body.
 * @throws if the handler is not marked for streaming, or its output is not in the integration-response format
 */
export async function invokeStreaming(
  handler: unknown,
  event: unknown,
  context: object = {},
): Promise<StreamedInvocation> {
  if (typeof handler !== 'function' || (handler as { [HANDLER_STREAMING]?: string })[HANDLER_STREAMING] !== 'response')
    throw new Error('The handler is not wrapped in awslambda.streamifyResponse: the runtime would not stream it');
  const stream = new ResponseStream();
  const started = performance.now();
  let answeredMs: number | undefined;
  stream.on('finish', () => (answeredMs = performance.now() - started));
  // The runtime's context carries the setting, true unless the handler turns it off.
  const invocationContext = { callbackWaitsForEmptyEventLoop: true, ...context };
  await (handler as StreamingHandler)(event, stream, invocationContext);
  const completedMs = performance.now() - started;
  if (!stream.writableEnded) throw new Error('The handler returned before it ended the response stream');
  // As the runtime awaits its request to the Runtime API after the handler: the stream's last write.
  await finished(stream);
  if (stream.contentType !== PRELUDE_CONTENT_TYPE)
    throw new Error(`The response has content type ${stream.contentType}, not ${PRELUDE_CONTENT_TYPE}`);
  const output = Buffer.concat(stream.chunks);
  const split = output.indexOf(DELIMITER);
  if (split < 0) throw new Error('The response has no 8-byte NUL delimiter after its prelude');
  const prelude = JSON.parse(output.subarray(0, split).toString('utf8')) as {
    statusCode?: number;
    headers?: { [name: string]: string };
  };
  if (typeof prelude.statusCode !== 'number') throw new Error('The prelude has no statusCode');
  return {
    statusCode: prelude.statusCode,
    headers: prelude.headers ?? {},
    body: output.subarray(split + DELIMITER.length).toString('utf8'),
    answeredMs: answeredMs ?? completedMs,
    completedMs,
    waitsForEmptyEventLoop: invocationContext.callbackWaitsForEmptyEventLoop,
  };
}
