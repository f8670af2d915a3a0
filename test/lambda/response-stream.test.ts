import { Writable } from 'node:stream';
import { lastWrite } from '../../lambda/predict/response-stream';

/** A sink whose writes take `delayMs` to go out, as a request to the Runtime API does over its socket. */
const sink = (delayMs = 0) =>
  new Writable({
    write(_chunk, _encoding, callback) {
      setTimeout(callback, delayMs);
    },
  });

describe("the predict function's wait for its answer to go out", () => {
  test('resolves once the last write has gone, not at end()', async () => {
    const stream = sink(20);
    stream.write('answer');
    stream.end();
    const started = Date.now();
    expect(stream.writableFinished).toBe(false);
    await expect(lastWrite(stream)).resolves.toBeUndefined();
    expect(stream.writableFinished).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  test('resolves at once for a stream that has finished already', async () => {
    const stream = sink();
    stream.end('answer');
    await new Promise((resolve) => stream.once('finish', resolve));
    await expect(lastWrite(stream)).resolves.toBeUndefined();
  });

  test('does not hang on a stream destroyed before its end, which emits nothing more', async () => {
    const stream = sink();
    stream.on('error', () => undefined);
    stream.destroy(new Error('socket hang up'));
    await new Promise((resolve) => stream.once('close', resolve));
    stream.end();
    await expect(lastWrite(stream)).resolves.toThrow(/destroyed before its last write/);
  });

  test('reports an error, or a close without the last write, as an answer that may not have arrived', async () => {
    const failing = sink(20);
    failing.write('answer');
    failing.end();
    const failed = lastWrite(failing);
    failing.destroy(new Error('socket hang up'));
    await expect(failed).resolves.toThrow('socket hang up');

    const closing = sink(20);
    closing.write('answer');
    closing.end();
    const closed = lastWrite(closing);
    closing.destroy();
    await expect(closed).resolves.toThrow(/closed before its last write/);
  });

  test('leaves no listener behind', async () => {
    const stream = sink();
    stream.end('answer');
    const before = ['finish', 'close', 'error'].map((event) => stream.listenerCount(event));
    await lastWrite(stream);
    expect(['finish', 'close', 'error'].map((event) => stream.listenerCount(event))).toEqual(before);
  });
});
