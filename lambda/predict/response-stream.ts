/**
 * The predict function's answer on Lambda's response stream, in the format API Gateway reads in STREAM mode: a JSON
 * prelude with the status and headers, 8 NUL bytes, then the body (`awslambda.HttpResponseStream.from`).
 */
import type { Writable } from 'node:stream';
import type { ApiResponse } from './predict';

/** Writes `response` and ends the stream. The runtime's end() sends data given to it without the prelude. */
export function writeAnswer(responseStream: Writable, response: ApiResponse): Writable {
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: response.statusCode,
    headers: response.headers,
  });
  stream.write(response.body);
  stream.end();
  return stream;
}

/** What a stream needs for {@link lastWrite}: its events and two getters, all the runtime's wrapper has. */
export type EndedStream = Pick<Writable, 'once' | 'off' | 'writableFinished' | 'destroyed'>;

/**
 * Waits until the stream has handed on its last write (its `finish`), or has failed or closed without it, and never
 * longer: a stream destroyed before its end gets neither `finish` nor another `close`. The runtime hands the handler
 * its request's bound methods, not a Writable (its response-stream.ts), so node:stream's `finished` cannot read the
 * stream's state and would resolve at end() already; the events and these getters come through.
 * @returns why the answer may not have reached the client, or undefined when it went out
 */
export function lastWrite(stream: EndedStream): Promise<Error | undefined> {
  if (stream.writableFinished) return Promise.resolve(undefined);
  if (stream.destroyed) return Promise.resolve(new Error('The response stream was destroyed before its last write'));
  return new Promise((resolve) => {
    const settle = (error: Error | undefined) => {
      stream.off('finish', onFinish);
      stream.off('close', onClose);
      stream.off('error', onError);
      resolve(error);
    };
    const onFinish = () => settle(undefined);
    const onError = (error: Error) => settle(error);
    const onClose = () =>
      settle(stream.writableFinished ? undefined : new Error('The response stream closed before its last write'));
    stream.once('finish', onFinish);
    stream.once('close', onClose);
    stream.once('error', onError);
  });
}
