/**
 * Graphviz and the PNG stamp: rendering the source with `dot`, and a tEXt chunk in the PNG recording the SHA-256 of
 * the source it was rendered from, so CI can tell a picture drawn from an old source without comparing pixels.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { crc32 } from 'node:zlib';
import { ToolError } from '../lib/cli';
import { ROOT } from './source';

const INSTALL_GRAPHVIZ = 'install Graphviz: apt-get install -y graphviz / brew install graphviz';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const STAMP_KEYWORD = 'dot-sha256';

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface PngChunk {
  readonly type: string;
  readonly data: Buffer;
  readonly start: number;
}

/** The chunks of a PNG; none when the bytes are not a PNG (a damaged file is then simply redrawn). */
function pngChunks(png: Buffer): PngChunk[] {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE)) return [];
  const chunks: PngChunk[] = [];
  for (let offset = 8; offset + 12 <= png.length;) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    chunks.push({ type, data: png.subarray(offset + 8, offset + 8 + length), start: offset });
    offset += 12 + length;
  }
  return chunks;
}

/** The PNG with a tEXt chunk recording the SHA-256 of its Graphviz source, so CI can tell which source drew it. */
export function stampPng(png: Buffer, source: string): Buffer {
  const end = pngChunks(png).find((chunk) => chunk.type === 'IEND');
  if (end === undefined) throw new ToolError('dot wrote something that is not a complete PNG');
  const body = Buffer.concat([Buffer.from('tEXt', 'latin1'), Buffer.from(`${STAMP_KEYWORD}\0${sha256(source)}`)]);
  const chunk = Buffer.alloc(body.length + 8);
  chunk.writeUInt32BE(body.length - 4, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(body), body.length + 4);
  return Buffer.concat([png.subarray(0, end.start), chunk, png.subarray(end.start)]);
}

/** The source hash stamped into a PNG, or undefined when it carries none. */
export function pngStamp(png: Buffer): string | undefined {
  const prefix = `${STAMP_KEYWORD}\0`;
  const text = pngChunks(png)
    .filter((chunk) => chunk.type === 'tEXt')
    .map((chunk) => chunk.data.toString('latin1'))
    .find((value) => value.startsWith(prefix));
  return text?.slice(prefix.length);
}

/**
 * Renders Graphviz source to PNG bytes.
 * @throws ToolError with the install command when `dot` is not on PATH
 */
export function renderPng(source: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  // -q: dot warns about cdk-dia's fixed node sizes and its `shape=node`, nothing a reader of this app can fix.
  const result = spawnSync('dot', ['-q', '-Tpng'], { cwd: ROOT, input: source, env, maxBuffer: 256 * 1024 * 1024 });
  if (result.error !== undefined) {
    throw new ToolError(
      (result.error as NodeJS.ErrnoException).code === 'ENOENT'
        ? `Graphviz's \`dot\` is not on PATH; ${INSTALL_GRAPHVIZ}`
        : `dot failed to start: ${result.error.message}`,
    );
  }
  if (result.status !== 0) throw new ToolError(`dot failed (exit ${result.status}):\n${result.stderr.toString()}`);
  return result.stdout;
}
