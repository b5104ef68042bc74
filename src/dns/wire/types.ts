/** The shapes every part of the resolver shares (DNS-DESIGN.md "wire"). */

/** A client's question, read by {@link parseQuery} from the raw datagram without copying it. */
export interface Query {
  /** Message ID, echoed in every reply. */
  id: number;
  /** Lower-case (ASCII only, as DNS compares names), no trailing dot, '' for the root. Bytes that are not
   *  printable ASCII, and dots inside a label, are written in presentation form (`\DDD`, `\.`), so two
   *  different wire names never share one string. */
  name: string;
  qtype: number;
  qclass: number;
  rd: boolean;
  cd: boolean;
  /** The client's EDNS UDP payload size (at least 512); undefined when the query had no OPT record. */
  ednsUdpSize?: number;
  /** EDNS DO bit: the client wants DNSSEC records. */
  dnssecOk: boolean;
  /** Offset just past QTYPE/QCLASS: `msg.subarray(12, questionEnd)` is the question, echoed in replies. */
  questionEnd: number;
}

/**
 * Why a message could not be used. `drop`: no answer at all (shorter than a header, or a response sent to us —
 * answering those invites loops and reflection). `formerr`: answer with the header only and `rcode`
 * (FORMERR = 1 when absent; NOTIMP = 4 for an opcode other than QUERY; BADVERS = 16 for EDNS version ≠ 0) —
 * {@link wireErrorReply} builds that answer.
 */
export type WireError = { kind: 'drop' } | { kind: 'formerr'; id: number; rcode?: number };

/** What the resolver needs to know about an upstream reply, from one bounded walk ({@link inspectAnswer}). */
export interface AnswerFacts {
  /** Full RCODE, including the EDNS extended bits. */
  rcode: number;
  truncated: boolean;
  /**
   * Seconds this reply may be cached. Positive answers: the smallest TTL in the answer section.
   * Negative answers (NXDOMAIN, or NOERROR without answers): RFC 2308's min(SOA TTL, SOA MINIMUM) from the
   * authority section (and no more than any answer TTL, for an NXDOMAIN after a CNAME); 0 when there is no SOA.
   */
  minTtl: number;
  /** A and AAAA answers, and the ipv4hint/ipv6hint of HTTPS/SVCB answers, as canonical text
   *  (IPv6 compressed lower-case, as ipaddr.js `toString()` writes it). */
  addresses: string[];
  /** CNAME targets and DNAME targets of the answer section, lower-case, no trailing dot. */
  cnameTargets: string[];
  answerCount: number;
  /** NXDOMAIN, or NOERROR with an empty answer section (NODATA). */
  negative: boolean;
  /** The authority section held an SOA (what makes a negative answer cacheable, RFC 2308 §5). */
  hasSoa: boolean;
}

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;
export const QTYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, AAAA: 28, DNAME: 39, OPT: 41, SVCB: 64, HTTPS: 65 } as const;

/** Our EDNS UDP payload size (the DNS Flag Day 2020 value: no IP fragmentation on common paths). */
export const OUR_UDP_SIZE = 1232;

/** RFC 8914 Extended DNS Error codes we send. */
export const EDE = { OTHER: 0, BLOCKED: 15, CENSORED: 16, FILTERED: 17, PROHIBITED: 18, NOT_READY: 14 } as const;

export interface EdeOption {
  code: number;
  /** EXTRA-TEXT: UTF-8, cut to 200 bytes. */
  text: string;
}
