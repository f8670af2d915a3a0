/**
 * What Lambda's Node.js runtime gives a response-streaming function, for the bench and the tests that run
 * lambda/predict outside Lambda. Written from the source of the runtime interface client that nodejs24.x runs,
 * version 4 (aws/aws-lambda-nodejs-runtime-interface-client), and API Gateway's documentation, and no more than the
 * predict function uses:
 *
 * - The `awslambda` global the runtime sets before it loads a function, kept beside what is there already
 *   (src/utils/globals.ts): `streamifyResponse` marks the handler with the symbol the runtime reads to choose the
 *   streaming path (src/function/user-function-loader.ts), and `HttpResponseStream.from` sets the content type
 *   `application/vnd.awslambda.http-integration-response` and, before the first write, writes the JSON metadata
 *   prelude and 8 NUL bytes (src/stream/http-response-stream.ts). That is the output format API Gateway requires of a
 *   Lambda proxy integration in STREAM mode ("Set up a Lambda proxy integration with payload response streaming",
 *   API Gateway developer guide).
 * - The response stream (src/stream/response-stream.ts): the handler gets no Writable but an object of the
 *   request's bound methods and getters, so stream utilities that read a Writable's internal state (such as
 *   `finished` from node:stream) do not see its writes; and `end()` is the request's own, which sends data given to
 *   it without the prelude, so a body given to end() fails here.
 * - The invocation (src/runtime/streaming-invoke-processor.ts): the runtime awaits the handler's promise, then its
 *   request to the Runtime API, whose last write the stream's end makes, and refuses a stream that has not finished.
 *   The caller has the whole response once the stream has ended, while the handler may go on working inside the
 *   same invocation, which AWS describes in "Running code after returning a response from an AWS Lambda function"
 *   (AWS Compute Blog). Version 4 waits for no empty event loop.
 */
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';

/** The symbol and value the runtime reads to run a handler on its streaming path. */
export const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const STREAM_RESPONSE = 'response';
export const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = new Uint8Array(8);

/** A streaming handler as the runtime calls it. */
export type StreamingHandler = (event: unknown, responseStream: object, context: unknown) => Promise<unknown>;

/** The request to the Runtime API, as far as the handler sees it: it collects what is written. */
class ResponseRequest extends Writable {
  readonly chunks: Buffer[] = [];
  /** How long the last chunk takes to go out, as over the runtime's socket. */
  lastWriteDelayMs = 0;
  contentType = 'application/octet-stream';
  /** Set by HttpResponseStream.from: writes the prelude before the first chunk. */
  _onBeforeFirstWrite: ((write: (chunk: string | Uint8Array) => void) => void) | undefined;
  private written = false;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk));
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.lastWriteDelayMs > 0) setTimeout(callback, this.lastWriteDelayMs);
    else callback();
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
      throw new Error("The runtime's response stream sends data given to end() without the prelude: write it first");
    }
    return super.end(...(args as [() => void]));
  }
}

/** The request's methods and state as the runtime hands them to the handler (toWritableResponseStream). */
const WRAPPED_METHODS = [
  'cork',
  'destroy',
  'end',
  'uncork',
  'write',
  'addListener',
  'on',
  'once',
  'prependListener',
  'prependOnceListener',
  'off',
  'removeListener',
  'removeAllListeners',
  'setMaxListeners',
  'getMaxListeners',
  'listeners',
  'rawListeners',
  'listenerCount',
  'eventNames',
  'emit',
  'setContentType',
] as const;
const WRAPPED_READ_WRITE = ['destroyed', '_onBeforeFirstWrite'] as const;
const WRAPPED_READ_ONLY = [
  'writableFinished',
  'writableObjectMode',
  'writableEnded',
  'writableNeedDrain',
  'writableHighWaterMark',
  'writableCorked',
  'writableLength',
  'writable',
] as const;

function handlerView(request: ResponseRequest): object {
  const view: Record<string, unknown> = {};
  const inner = request as unknown as Record<string, unknown>;
  for (const method of WRAPPED_METHODS) view[method] = (inner[method] as (...a: unknown[]) => unknown).bind(request);
  for (const name of WRAPPED_READ_WRITE) {
    Object.defineProperty(view, name, { get: () => inner[name], set: (value) => (inner[name] = value) });
  }
  for (const name of WRAPPED_READ_ONLY) Object.defineProperty(view, name, { get: () => inner[name] });
  return view;
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
      from<T extends Pick<ResponseRequest, 'setContentType' | '_onBeforeFirstWrite'>>(stream: T, prelude: object): T {
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
  /** From the call to the response's last write: when API Gateway has the whole answer for the client. */
  readonly answeredMs: number;
  /** From the call to the handler's end: when the invocation ends (and Lambda's billed duration with it). */
  readonly completedMs: number;
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
  options: {
    /** How long the response's last write takes to go out after end(), so a handler that does not wait shows. */
    readonly lastWriteDelayMs?: number;
  } = {},
): Promise<StreamedInvocation> {
  if (typeof handler !== 'function' || (handler as { [HANDLER_STREAMING]?: string })[HANDLER_STREAMING] !== 'response')
    throw new Error('The handler is not wrapped in awslambda.streamifyResponse: the runtime would not stream it');
  const request = new ResponseRequest();
  request.lastWriteDelayMs = options.lastWriteDelayMs ?? 0;
  const started = performance.now();
  let answeredMs: number | undefined;
  const lastWrite = new Promise<void>((resolve) =>
    request.once('finish', () => {
      answeredMs = performance.now() - started;
      resolve();
    }),
  );
  await (handler as StreamingHandler)(event, handlerView(request), context);
  const completedMs = performance.now() - started;
  if (!request.writableEnded) throw new Error('The handler returned before it ended the response stream');
  // As the runtime awaits its request to the Runtime API after the handler.
  await lastWrite;
  if (request.contentType !== PRELUDE_CONTENT_TYPE)
    throw new Error(`The response has content type ${request.contentType}, not ${PRELUDE_CONTENT_TYPE}`);
  const output = Buffer.concat(request.chunks);
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
  };
}
