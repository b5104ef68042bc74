import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { nodeScriptLaunch } from './launch.js';
import { netnsId, spawnInNs } from './ns.js';
import type {
  ConnectRequest, ConnectResult, HttpRequest, HttpResult, ProbeOp, ProbeResult, UdpRequest, UdpResult,
} from './outcome.js';

export type { ConnectOutcome, HttpOutcome, UdpOutcome, ConnectResult, HttpResult, UdpResult } from './outcome.js';

/**
 * Acting like a user inside a namespace. One long-lived probe agent (connect.ts) per namespace answers
 * every probe, so a probe costs about a millisecond plus the network, not a Node start-up. Agents do not
 * keep the caller alive, exit with it, and are replaced when their namespace is re-created (a new lab).
 */

interface Agent {
  readonly ns: string;
  readonly nsId: string;
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly pending: Map<number, (r: ProbeResult) => void>;
  dead: boolean;
  stderr: string;
}

const agents = new Map<string, Agent>();
let nextId = 1;

/** Slack on top of a probe's own timeout before the caller gives up on the agent itself. */
const AGENT_SLACK_MS = 5000;
const AGENT_START_MS = 20_000;

function startAgent(ns: string, nsId: string): Agent {
  const launch = nodeScriptLaunch('connect');
  const child = spawnInNs(ns, launch.command, [...launch.args, '--serve'], { cwd: launch.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const agent: Agent = { ns, nsId, child, pending: new Map(), dead: false, stderr: '', ready: Promise.resolve() };
  let markReady: () => void = () => {};
  let failReady: (e: Error) => void = () => {};
  const ready = new Promise<void>((res, rej) => {
    markReady = res;
    failReady = rej;
  });
  ready.catch(() => {});
  (agent as { ready: Promise<void> }).ready = ready;

  const die = (why: string) => {
    if (agent.dead) return;
    agent.dead = true;
    if (agents.get(ns) === agent) agents.delete(ns);
    const message = `probe agent in ${ns} ${why}${agent.stderr ? `: ${agent.stderr.trim().slice(-1000)}` : ''}`;
    failReady(new Error(message));
    for (const resolve of agent.pending.values()) resolve({ outcome: 'error', ms: 0, message });
    agent.pending.clear();
  };
  child.on('error', (err) => die(`could not start (${err.message})`));
  child.on('exit', (code, signal) => die(`exited (${signal ?? `code ${code}`})`));
  child.stderr?.on('data', (d: Buffer) => {
    agent.stderr = (agent.stderr + d.toString('utf8')).slice(-4000);
  });
  child.stdin?.on('error', () => {});
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (line) => {
    let msg: { ready?: boolean; id?: number; result?: ProbeResult };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return;
    }
    if (msg.ready) return markReady();
    if (typeof msg.id === 'number' && msg.result) {
      const resolve = agent.pending.get(msg.id);
      agent.pending.delete(msg.id);
      resolve?.(msg.result);
    }
  });
  // Don't hold the caller's event loop open; a pending probe holds it through its own timer instead.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as Socket | null)?.unref?.();
  const startTimer = setTimeout(() => {
    if (!agent.dead) {
      child.kill('SIGKILL');
      die(`did not start within ${AGENT_START_MS} ms`);
    }
  }, AGENT_START_MS);
  void ready.then(() => clearTimeout(startTimer), () => clearTimeout(startTimer));
  return agent;
}

function agentFor(ns: string): Agent {
  const id = netnsId(ns);
  if (id === undefined) throw new Error(`network namespace ${ns} does not exist`);
  const existing = agents.get(ns);
  if (existing && !existing.dead && existing.nsId === id) return existing;
  if (existing) {
    // The namespace was re-created since (lab down + up): the old agent sits in a dead namespace.
    existing.child.kill('SIGKILL');
    agents.delete(ns);
  }
  const agent = startAgent(ns, id);
  agents.set(ns, agent);
  return agent;
}

async function probe(ns: string, op: ProbeOp, timeoutMs: number): Promise<ProbeResult> {
  const agent = agentFor(ns);
  await agent.ready;
  const id = nextId++;
  return new Promise<ProbeResult>((resolve) => {
    const timer = setTimeout(() => {
      agent.pending.delete(id);
      resolve({ outcome: 'error', ms: timeoutMs, message: `probe agent in ${ns} did not answer` });
    }, timeoutMs + AGENT_SLACK_MS);
    agent.pending.set(id, (r) => {
      clearTimeout(timer);
      resolve(r);
    });
    agent.child.stdin?.write(`${JSON.stringify({ id, ...op })}\n`);
  });
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly family?: 4 | 6;
  readonly sourceAddress?: string;
  /** Default 2000. */
  readonly timeoutMs?: number;
  /** Wait this long after connecting for the server to speak (banner). Default 300; 0 = don't wait. */
  readonly bannerWaitMs?: number;
  readonly send?: string;
}

/** TCP connect from inside `ns`; the outcome is what a user's application would see. */
export async function connectFrom(ns: string, opts: ConnectOptions): Promise<ConnectResult> {
  const req: ConnectRequest = { ...opts, timeoutMs: opts.timeoutMs ?? 2000 };
  return (await probe(ns, { op: 'connect', req }, req.timeoutMs)) as ConnectResult;
}

export interface HttpOptions {
  readonly method?: 'GET' | 'HEAD' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly sourceAddress?: string;
  readonly maxBodyBytes?: number;
}

/** HTTP request from inside `ns` (outcome 'response' for any HTTP status). */
export async function httpGetFrom(ns: string, url: string, timeoutMs = 3000, opts: HttpOptions = {}): Promise<HttpResult> {
  const req: HttpRequest = { ...opts, url, timeoutMs };
  return (await probe(ns, { op: 'http', req }, timeoutMs)) as HttpResult;
}

export interface UdpOptions {
  readonly host: string;
  readonly port: number;
  readonly payload?: string;
  readonly sourceAddress?: string;
  /** Wait for a reply or ICMP error this long. Default 1000. */
  readonly timeoutMs?: number;
}

/** Sends one datagram from inside `ns` and waits for a reply ('reply'), an ICMP error, or nothing ('no-reply'). */
export async function udpSendFrom(ns: string, opts: UdpOptions): Promise<UdpResult> {
  const req: UdpRequest = { ...opts, timeoutMs: opts.timeoutMs ?? 1000 };
  return (await probe(ns, { op: 'udp', req }, req.timeoutMs)) as UdpResult;
}

/** Stops every probe agent this process started (tests call it in `after`). */
export async function closeProbes(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((a) => new Promise<void>((resolve) => {
    if (a.dead || a.child.exitCode !== null || a.child.signalCode !== null) return resolve();
    // Re-ref'd: otherwise nothing keeps the caller's event loop alive until the agent has exited.
    a.child.ref();
    const timer = setTimeout(() => {
      a.child.kill('SIGKILL');
      resolve();
    }, 1000);
    a.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    a.child.stdin?.end();
  })));
}
