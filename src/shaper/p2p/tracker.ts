import ipaddr from 'ipaddr.js';
import type { EventPublisher, GatehouseEvents } from '../../events/index.js';
import { launch, type KernelRuntime, type Launched, type RuntimeOp } from '../../firewall/index.js';
import type { P2pEvidence } from '../types.js';
import { analyseBehaviour, type ClientBehaviour } from './behaviour.js';
import { countConnections, readConntrack } from './conntrack.js';
import './events.js';
import { P2P_SETS } from './rules.js';
import { signatureByCode, type SignatureName } from './signatures.js';

/**
 * Who does P2P, and why: the kernel's signature sets (read every poll) and the behaviour heuristic over a
 * conntrack snapshot (`conntrack -L -o extended`, both families). A client the heuristic flags goes into
 * the kernel's P2P client set for the hold time, so its unclassified high-port flows get the penalty
 * class like a signature-flagged one; never blocked. s1's status reads `evidenceFor(ip)`.
 */
export interface P2pTracker {
  /** The client's evidence while it is flagged. */
  evidenceFor(ip: string): P2pEvidence | undefined;
  /** Every flagged client with its evidence. */
  flagged(): ReadonlyMap<string, P2pEvidence>;
  /** The last conntrack snapshot's figures for a client (flagged or not). */
  behaviourOf(ip: string): ClientBehaviour | undefined;
  /** Open connections per original source address, from the last round's conntrack listing. */
  connections(): ReadonlyMap<string, number>;
  /** One round: read the kernel's evidence and conntrack, flag, publish. */
  poll(): Promise<void>;
  /** Polls every `everyMs` (default 5 s) until stop(); a failed round is logged and the next one runs. */
  start(everyMs?: number): void;
  stop(): void;
}

export type Exec = (cmd: string, args: readonly string[]) => Promise<Launched>;

export interface P2pTrackerOptions {
  readonly runtime: Pick<KernelRuntime, 'apply' | 'list'>;
  /** Runs conntrack (default: the firewall's launcher, in the daemon's namespace). */
  readonly exec?: Exec;
  readonly events?: EventPublisher<GatehouseEvents>;
  /** LAN client addresses (default: private IPv4 and unique-local IPv6). */
  readonly isClient?: (ip: string) => boolean;
  /** How long a behaviour flag lasts after the heuristic last saw it (default 10 min, like the rules' hold). */
  readonly clientHoldSec?: number;
  readonly minPeers?: number;
  readonly minBothPeers?: number;
  readonly now?: () => number;
  readonly log?: { warn(obj: object, msg: string): void };
}

export function privateClient(ip: string): boolean {
  try {
    const r = ipaddr.parse(ip).range();
    return r === 'private' || r === 'uniqueLocal';
  } catch {
    return false;
  }
}

interface State {
  signatures: Set<SignatureName>;
  sigUntil: number;
  behaviourUntil: number;
  peers: number;
  tcpAndUdp: boolean;
  since: number;
}

export function createP2pTracker(opts: P2pTrackerOptions): P2pTracker {
  const exec = opts.exec ?? launch;
  const now = opts.now ?? Date.now;
  const holdSec = opts.clientHoldSec ?? 600;
  const isClient = opts.isClient ?? privateClient;
  const state = new Map<string, State>();
  let behaviour = new Map<string, ClientBehaviour>();
  let connections = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const evidence = (s: State): P2pEvidence => ({
    signatures: [...s.signatures].sort(),
    peers: s.peers,
    tcpAndUdp: s.tcpAndUdp,
    since: s.since,
    until: Math.max(s.sigUntil, s.behaviourUntil),
  });

  async function round(): Promise<void> {
    const t = now();
    const seen = new Map<string, { sigs: Set<SignatureName>; until: number }>();
    for (const set of [P2P_SETS.sig4, P2P_SETS.sig6]) {
      for (const e of await opts.runtime.list(set)) {
        const [ip, code] = e.key;
        const name = code === undefined ? undefined : signatureByCode(Number(code));
        if (ip === undefined || name === undefined) continue;
        const cur = seen.get(ip) ?? { sigs: new Set<SignatureName>(), until: 0 };
        cur.sigs.add(name);
        cur.until = Math.max(cur.until, t + (e.expiresSec ?? holdSec) * 1000);
        seen.set(ip, cur);
      }
    }
    const flows = await readConntrack(exec);
    connections = countConnections(flows);
    const stats = analyseBehaviour(flows, {
      isClient,
      ...(opts.minPeers !== undefined ? { minPeers: opts.minPeers } : {}),
      ...(opts.minBothPeers !== undefined ? { minBothPeers: opts.minBothPeers } : {}),
    });
    behaviour = new Map(stats.map((b) => [b.client, b]));
    const flagOps: RuntimeOp[] = [];
    const v4: { key: string[]; timeoutSec: number }[] = [];
    const v6: { key: string[]; timeoutSec: number }[] = [];
    for (const b of stats) if (b.flagged) (b.client.includes(':') ? v6 : v4).push({ key: [b.client], timeoutSec: holdSec });
    if (v4.length > 0) flagOps.push({ op: 'replace', set: P2P_SETS.clients4, elements: v4 });
    if (v6.length > 0) flagOps.push({ op: 'replace', set: P2P_SETS.clients6, elements: v6 });
    if (flagOps.length > 0) await opts.runtime.apply(flagOps);

    const fresh: string[] = [];
    for (const ip of new Set([...seen.keys(), ...stats.filter((b) => b.flagged).map((b) => b.client)])) {
      let s = state.get(ip);
      const active = s !== undefined && Math.max(s.sigUntil, s.behaviourUntil) > t;
      if (!s || !active) {
        s = { signatures: new Set(), sigUntil: 0, behaviourUntil: 0, peers: 0, tcpAndUdp: false, since: t };
        state.set(ip, s);
        fresh.push(ip);
      }
      const sig = seen.get(ip);
      if (sig) {
        for (const n of sig.sigs) s.signatures.add(n);
        s.sigUntil = sig.until;
      }
      const b = behaviour.get(ip);
      if (b?.flagged) s.behaviourUntil = t + holdSec * 1000;
    }
    for (const [ip, s] of state) {
      // The most peers seen while flagged: a swarm winding down still shows how wide it was.
      const b = behaviour.get(ip);
      if (b) {
        s.peers = Math.max(s.peers, b.peers);
        s.tcpAndUdp ||= b.bothPeers > 0;
      }
      if (Math.max(s.sigUntil, s.behaviourUntil) <= t) state.delete(ip);
    }
    for (const ip of fresh) {
      const s = state.get(ip);
      if (s) opts.events?.publish('shaper.p2p_flagged', { client: ip, evidence: evidence(s) });
    }
  }

  const tracker: P2pTracker = {
    evidenceFor(ip) {
      const s = state.get(ip);
      return s && Math.max(s.sigUntil, s.behaviourUntil) > now() ? evidence(s) : undefined;
    },
    flagged() {
      const out = new Map<string, P2pEvidence>();
      const t = now();
      for (const [ip, s] of state) if (Math.max(s.sigUntil, s.behaviourUntil) > t) out.set(ip, evidence(s));
      return out;
    },
    behaviourOf: (ip) => behaviour.get(ip),
    connections: () => connections,
    poll() {
      // One round at a time: a slow conntrack listing never piles rounds up.
      running ??= round().finally(() => {
        running = undefined;
      });
      return running;
    },
    start(everyMs = 5000) {
      if (timer) return;
      timer = setInterval(() => {
        tracker.poll().catch((e: unknown) => opts.log?.warn({ err: (e as Error).message }, 'P2P detection round failed'));
      }, everyMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return tracker;
}
