/**
 * Destination ports a P2P-flagged client keeps at normal priority, so the penalty never makes the web, mail,
 * DNS or a phone call bad (the user would go hunting for a VPN): only unclassified high ports get it.
 * Ports below HIGH_PORT are never penalised by the client flag either.
 */
export const HIGH_PORT = 1024;

export const NORMAL_HIGH_PORTS: readonly number[] = [
  1194, // OpenVPN: a VPN the user already runs is not P2P
  3478, 3479, 5349, // STUN/TURN (WebRTC calls)
  5060, 5061, // SIP
  8008, 8080, 8443, // web on alternative ports
  19302, // Google STUN
];

/** Whether a flow's destination port is one the client flag never penalises. */
export function isNormalPort(port: number): boolean {
  return port < HIGH_PORT || NORMAL_HIGH_PORTS.includes(port);
}
