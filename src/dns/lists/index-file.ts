import { open, readFile, rename, rm } from 'node:fs/promises';
import { DomainIndex } from './domain-index.js';

/*
 * The domain index as one file, the way the daemon hands it to its resolver workers. Sent over the IPC
 * channel instead (advanced serialization), a 40 MB index for 1M names cost each worker ~120 MB: the
 * received message buffer (which Node's channel keeps referenced until the next message), a copy for
 * alignment, and the read chunks until the next GC. Read from a file, a worker holds one buffer with
 * typed-array views into it, and the daemon serializes nothing.
 *
 * Layout (little-endian u32 words): [MAGIC, generation, metaBytes, tableBytes, tagsBytes, 0], then the
 * three parts of DomainIndex.toTransfer() in that order. Every part starts 4-byte aligned, so the table
 * is a view, not a copy. The shape checks are fromTransfer's (a damaged table must not hang a worker).
 */

const MAGIC = 0x49444847; // "GHDI"
const HEADER_WORDS = 6;
const HEADER_BYTES = HEADER_WORDS * 4;

export class IndexFileError extends Error {
  override name = 'IndexFileError';
}

/**
 * Writes `index` to `path` (through a temporary file and a rename, so a worker reading the previous
 * generation keeps its whole file). Async: the 40 MB write leaves the daemon's event loop free.
 */
export async function writeIndexFile(index: DomainIndex, path: string, generation: number): Promise<void> {
  const [tablePart, tagsPart, metaPart] = index.toTransfer() as [Uint8Array, Uint8Array, Uint8Array];
  const header = new Uint32Array([MAGIC, generation >>> 0, metaPart.byteLength, tablePart.byteLength, tagsPart.byteLength, 0]);
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    for (const p of [new Uint8Array(header.buffer), metaPart, tablePart, tagsPart]) {
      let off = 0;
      while (off < p.byteLength) off += (await fh.write(p, off, p.byteLength - off)).bytesWritten;
    }
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}

/** Reads an index file; a missing, short or damaged file is an IndexFileError naming the path and the fault. */
export async function readIndexFile(path: string): Promise<{ index: DomainIndex; generation: number }> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new IndexFileError(`domain index file ${path} cannot be read: ${(e as Error).message}`);
  }
  return parseIndexFile(buf, path);
}

export function parseIndexFile(buf: Uint8Array, path = 'domain index'): { index: DomainIndex; generation: number } {
  const bad = (why: string): never => {
    throw new IndexFileError(`domain index file ${path} is damaged: ${why}`);
  };
  if (buf.byteLength < HEADER_BYTES) bad(`${buf.byteLength} bytes, shorter than its header`);
  // readFile gives a buffer of its own at offset 0; anything else is copied once to get aligned words.
  const b = buf.byteOffset % 4 === 0 ? buf : new Uint8Array(buf); // (Buffer#slice would be a view)
  const h = new Uint32Array(b.buffer, b.byteOffset, HEADER_WORDS);
  if (h[0] !== MAGIC) bad('not a Gatehouse domain index (wrong magic number)');
  const [metaBytes, tableBytes, tagsBytes] = [h[2]!, h[3]!, h[4]!];
  if (metaBytes % 4 !== 0 || tableBytes % 4 !== 0) bad('parts not aligned');
  const want = HEADER_BYTES + metaBytes + tableBytes + tagsBytes;
  if (b.byteLength !== want) bad(`${b.byteLength} bytes where the header announces ${want}`);
  const at = b.byteOffset + HEADER_BYTES;
  const meta = new Uint8Array(b.buffer, at, metaBytes);
  const table = new Uint8Array(b.buffer, at + metaBytes, tableBytes);
  // The tags are 1/24 of the file: a copy of their own (fromTransfer's rule for views) costs little.
  const tags = new Uint8Array(b.buffer, at + metaBytes + tableBytes, tagsBytes);
  try {
    return { index: DomainIndex.fromTransfer([table, tags, meta]), generation: h[1]! };
  } catch (e) {
    return bad((e as Error).message.replace(/^DomainIndex\.fromTransfer: /, ''));
  }
}
