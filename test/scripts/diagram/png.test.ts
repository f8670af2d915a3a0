import { crc32 } from 'node:zlib';
import { ToolError } from '../../../scripts/lib/cli';
import { pngStamp, renderPng, sha256, stampPng } from '../../../scripts/diagram/png';
import { PIXEL, useTemporaryDirs } from './demo-app';

const temporaryDir = useTemporaryDirs();

describe('PNG stamp', () => {
  test('records the hash of the source the PNG was rendered from', () => {
    expect(pngStamp(stampPng(PIXEL, 'digraph {}'))).toBe(sha256('digraph {}'));
  });

  test('is absent from an unstamped PNG, and from bytes that are not a PNG', () => {
    expect(pngStamp(PIXEL)).toBeUndefined();
    expect(pngStamp(Buffer.from('not a picture'))).toBeUndefined();
  });

  test('is a valid chunk before IEND', () => {
    const stamped = stampPng(PIXEL, 'digraph {}');
    const iend = stamped.length - 12;
    expect(stamped.toString('latin1', iend + 4, iend + 8)).toBe('IEND');
    const length = stamped.readUInt32BE(PIXEL.length - 12);
    const chunk = stamped.subarray(PIXEL.length - 12 + 4, PIXEL.length - 12 + 8 + length);
    expect(chunk.toString('latin1', 0, 4)).toBe('tEXt');
    expect(stamped.readUInt32BE(PIXEL.length - 12 + 8 + length)).toBe(crc32(chunk));
  });
});

describe('rendering', () => {
  test('without Graphviz it says how to install it', () => {
    expect(() => renderPng('digraph {}', { PATH: temporaryDir() })).toThrow(
      new ToolError(
        "Graphviz's `dot` is not on PATH; install Graphviz: apt-get install -y graphviz / brew install graphviz",
      ),
    );
  });
});
