/**
 * In-kernel P2P signatures (gateway.md §B.3/§F, each loaded and exercised on this kernel): one raw payload
 * match of at most 128 bits per variant, the limit nft accepts for one match. The same data renders the nft
 * rule (rules.ts) and runs in `matchSignatures` below, so unit tests check the offsets against packet bytes.
 *
 * Offsets are nft's: `ih` counts from the start of the L4 payload (TCP options do not shift it), `th` from
 * the start of the transport header (a UDP payload starts at bit 64).
 */

export type SignatureName = 'bittorrent-handshake' | 'dht' | 'utp' | 'udp-tracker' | 'lsd';

/** Codes the evidence sets store next to the client (`ip saddr . code`); stable: they live in the kernel. */
export const SIGNATURE_CODES: Readonly<Record<SignatureName, number>> = {
  'bittorrent-handshake': 1,
  dht: 2,
  utp: 3,
  'udp-tracker': 4,
  lsd: 5,
};

export function signatureByCode(code: number): SignatureName | undefined {
  return (Object.keys(SIGNATURE_CODES) as SignatureName[]).find((n) => SIGNATURE_CODES[n] === code);
}

export interface PayloadSignature {
  readonly name: SignatureName;
  /** What the variant recognises, for humans. */
  readonly what: string;
  readonly proto: 'tcp' | 'udp';
  readonly base: 'ih' | 'th';
  readonly offsetBits: number;
  readonly value: Uint8Array;
  /** UDP only: the `udp length` (header + payload) the datagram must have exactly, or at least. */
  readonly udpLength?: { readonly exact: number } | { readonly min: number };
}

const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const hexBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

export const PAYLOAD_SIGNATURES: readonly PayloadSignature[] = [
  // BEP 3: pstrlen 19 then "BitTorrent protocol"; the first 16 bytes are as much as one match takes.
  { name: 'bittorrent-handshake', what: '"\\x13BitTorrent prot" at the start of a TCP payload', proto: 'tcp', base: 'ih', offsetBits: 0, value: ascii('\x13BitTorrent prot') },
  // BEP 5: bencoded dicts with sorted keys; every query has "a" with "id" first, every response "r" with "id".
  { name: 'dht', what: 'DHT query "d1:ad2:id20:"', proto: 'udp', base: 'th', offsetBits: 64, value: ascii('d1:ad2:id20:'), udpLength: { min: 8 + 12 + 20 } },
  { name: 'dht', what: 'DHT response "d1:rd2:id20:"', proto: 'udp', base: 'th', offsetBits: 64, value: ascii('d1:rd2:id20:'), udpLength: { min: 8 + 12 + 20 } },
  // BEP 42 responses (libtorrent and others) start with the requester's compact address: 6 bytes v4, 18 v6.
  { name: 'dht', what: 'DHT response "d2:ip6:" (BEP 42)', proto: 'udp', base: 'th', offsetBits: 64, value: ascii('d2:ip6:'), udpLength: { min: 8 + 7 + 6 + 20 } },
  { name: 'dht', what: 'DHT response "d2:ip18:" (BEP 42)', proto: 'udp', base: 'th', offsetBits: 64, value: ascii('d2:ip18:'), udpLength: { min: 8 + 8 + 18 + 20 } },
  // BEP 29: ST_SYN (type 4, version 1) without extensions is exactly the 20-byte header.
  { name: 'utp', what: 'uTP ST_SYN header (0x41 0x00, 20 bytes)', proto: 'udp', base: 'th', offsetBits: 64, value: hexBytes('4100'), udpLength: { exact: 8 + 20 } },
  // BEP 15: connect request = protocol id 0x41727101980, action 0 (connect), transaction id.
  { name: 'udp-tracker', what: 'UDP tracker connect (magic 0x41727101980, action 0)', proto: 'udp', base: 'th', offsetBits: 64, value: hexBytes('000004172710198000000000'), udpLength: { exact: 8 + 16 } },
];

/** BEP 14 Local Service Discovery: multicast on the LAN, never forwarded (see rules.ts for where it is seen). */
export const LSD = { port: 6771, ipv4: '239.192.152.143', ipv6: 'ff15::efc0:988f' } as const;

function transportPayloadStart(proto: 'tcp' | 'udp', l4: Uint8Array): number | undefined {
  if (proto === 'udp') return l4.length >= 8 ? 8 : undefined;
  if (l4.length < 20) return undefined;
  const off = (l4[12]! >> 4) * 4;
  return off >= 20 && off <= l4.length ? off : undefined;
}

/**
 * The variants a transport segment (header + payload, as on the wire) matches, by the same offsets the
 * nft rules use: what the kernel rule would do with this packet.
 */
export function matchSignatures(proto: 'tcp' | 'udp', l4: Uint8Array): PayloadSignature[] {
  const payloadAt = transportPayloadStart(proto, l4);
  if (payloadAt === undefined) return [];
  return PAYLOAD_SIGNATURES.filter((s) => {
    if (s.proto !== proto) return false;
    if (s.udpLength) {
      const len = (l4[4]! << 8) | l4[5]!;
      if ('exact' in s.udpLength ? len !== s.udpLength.exact : len < s.udpLength.min) return false;
    }
    const start = (s.base === 'ih' ? payloadAt : 0) + s.offsetBits / 8;
    if (start + s.value.length > l4.length) return false;
    return s.value.every((b, i) => l4[start + i] === b);
  });
}
