/**
 * Conntrack mark bits the shaper's parts agree on (`ct mark`): set once per connection by nft rules of the
 * p2p and guards parts, read by the classification maps. Bits, not values: a flow can be P2P and an elephant.
 */

/** The flow is P2P (signature, remembered peer, or a flagged client's unclassified high-port flow). */
export const MARK_P2P = 0x1;
/** The flow moved many bytes (conntrack accounting): bulk class inside its owner's share. */
export const MARK_ELEPHANT = 0x2;
/** The client is in the fair-use class (the portal's `throttle` action). */
export const MARK_FAIR_USE = 0x4;
