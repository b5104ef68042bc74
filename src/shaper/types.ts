/*
 * The fair-share shaper's vocabulary, shared by its parts (core: tc + classes; p2p: detection and guards;
 * lab tests) and by the modules that use it (the portal's `throttle` limit action).
 */

/** Which way traffic flows for a LAN client: download is shaped on LAN egress, upload on WAN egress. */
export type Direction = 'down' | 'up';

/** The class a client's flow is in, inside the client's share. */
export type TrafficClass = 'interactive' | 'bulk' | 'p2p';

/** What the kernel offers for leaves and shaping, detected at start (`gatehouse shaper status` shows it). */
export interface QdiscCapabilities {
  readonly htb: boolean;
  readonly cake: boolean;
  readonly fq_codel: boolean;
  readonly sfq: boolean;
  /** The leaf used under each class, the best available: cake > fq_codel > sfq > pfifo. */
  readonly leaf: 'cake' | 'fq_codel' | 'sfq' | 'pfifo';
}

/** Why a client is flagged as doing P2P: shown in status and in the `shaper.p2p_flagged` event. */
export interface P2pEvidence {
  /** Signatures seen (e.g. 'bittorrent-handshake', 'dht', 'utp', 'udp-tracker', 'lsd'); empty for behaviour only. */
  readonly signatures: readonly string[];
  /** Distinct remote peers seen on high ports over the window. */
  readonly peers: number;
  /** Whether the same peers were reached over both TCP and UDP (the transport-layer heuristic). */
  readonly tcpAndUdp: boolean;
  readonly since: number;
  readonly until: number;
}

/** One shaped client as status shows it (a device, or with the portal a user's devices together). */
export interface ShapedClient {
  /** Stable key: 'user:<name>' with the portal, else 'mac:<mac>' or 'ip:<addr>'. */
  readonly key: string;
  readonly mac?: string;
  readonly user?: string;
  readonly ips: readonly string[];
  readonly downBps: number;
  readonly upBps: number;
  readonly bytesToday: { readonly down: number; readonly up: number };
  /** HTB minor ids of the client's parent classes, per direction. */
  readonly classId: number;
  readonly p2p?: P2pEvidence;
  readonly fairUse: boolean;
  readonly connections: number;
}

/** What the shaper module provides to other modules (portal throttle, detection). */
export interface ShaperApi {
  /** Puts a client's addresses in (or takes them out of) the fair-use class at `shaper.fair_use_rate`. */
  setFairUse(ips: readonly string[], on: boolean, reason: string): Promise<void>;
  /** Groups addresses under one share (the portal: a user's devices). */
  setOwner(ips: readonly string[], owner: string | undefined): Promise<void>;
  status(): Promise<ShaperStatus>;
}

export interface ShaperStatus {
  readonly download: number;
  readonly upload: number;
  readonly interfaces: { readonly lan: readonly string[]; readonly wan: readonly string[] };
  readonly capabilities: QdiscCapabilities;
  readonly p2p: 'throttle' | 'off';
  readonly clients: readonly ShapedClient[];
}
