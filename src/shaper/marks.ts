/*
 * The connection mark (ct mark) bits the shaper's parts agree on. A flow's bits pick its leaf inside the
 * client's share. The classification maps are keyed `address . ct mark` on the whole ct mark (not masked with
 * SHAPER_MARK_MASK), and the plan fills them only for the values 0..SHAPER_MARK_MASK: other modules must not set
 * ct mark bits, or their flows miss the maps and fall into the link's default class.
 *
 * Who sets what:
 * - p2p/ (s2): MARK_P2P when a flow matches a P2P signature, goes to a remembered peer endpoint, or is an
 *   unclassified high-port flow of a client flagged as doing P2P.
 * - guards/ (s2): MARK_ELEPHANT when a flow's conntrack byte count passes the elephant threshold.
 * - core (s1): MARK_INTERACTIVE for flows to interactive services (SSH, DNS, NTP, SIP/STUN) at their start.
 *
 * Always set bits with `ct mark set ct mark or <bit>` (never overwrite the whole mark).
 * Leaf precedence when several bits are set: p2p > bulk (elephant) > interactive. A flow with no bit is
 * interactive too while it is young: new and short flows (web pages, DNS, SSH) go first, and a long transfer
 * drops to bulk once it becomes an elephant (the "new flows first" idea of fq_codel and qosify, per client).
 */

/** The flow is P2P (signature, remembered peer, or a flagged client's high-port flow): penalty leaf. */
export const MARK_P2P = 0x1;
/** The flow is a long bulk transfer ("elephant"): bulk leaf, below normal traffic of the same client. */
export const MARK_ELEPHANT = 0x2;
/** The flow is interactive by its service port (SSH, DNS, SIP, NTP, STUN, ping): recorded for status and tests. */
export const MARK_INTERACTIVE = 0x4;
/** The bits the shaper reads; the maps enumerate every combination of them. */
export const SHAPER_MARK_MASK = MARK_P2P | MARK_ELEPHANT | MARK_INTERACTIVE;

/** Every ct mark value the shaper's bits can make (the map keys per client address; the whole ct mark is the key). */
export const MARK_VALUES: readonly number[] = Array.from({ length: SHAPER_MARK_MASK + 1 }, (_, i) => i).filter((v) => (v & ~SHAPER_MARK_MASK) === 0);

/** The leaf inside a client's share a flow with these bits lands in. */
export type Leaf = 'interactive' | 'bulk' | 'p2p';

export function leafOfMark(mark: number): Leaf {
  if (mark & MARK_P2P) return 'p2p';
  if (mark & MARK_ELEPHANT) return 'bulk';
  return 'interactive';
}
