/**
 * The smallest upstream answer: the query's header and question, with one A record 192.0.2.1 pointing back at the
 * question's name. Enough for a resolver under test to forward to and cache; no parsing beyond the question's end.
 */
export function answerA(query: Buffer, ttlSec: number): Buffer {
  let end = 12;
  while (end < query.length && query[end] !== 0) end += query[end]! + 1;
  end += 5;
  const out = Buffer.alloc(end + 16);
  query.copy(out, 0, 0, end);
  out.writeUInt16BE(0x8180, 2);
  out.writeUInt16BE(1, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  // Name pointer to the question (c00c), type A, class IN, the TTL, length 4, 192.0.2.1.
  Buffer.from('c00c00010001', 'hex').copy(out, end);
  out.writeUInt32BE(ttlSec, end + 6);
  Buffer.from('0004c0000201', 'hex').copy(out, end + 10);
  return out;
}
