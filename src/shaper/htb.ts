import { isInterfaceName } from '../config/index.js';
import type { Leaf } from './marks.js';
import type { Direction, QdiscCapabilities } from './types.js';

/*
 * The HTB tree, as `tc -batch` lines built only from checked numbers and interface names. Per device:
 *
 *   1:   htb root, default 1:3 (traffic nft did not classify: the gateway's own, LAN to LAN)
 *   1:1  link class at the link rate (download on LAN egress, upload on WAN egress)
 *     1:2   forwarded traffic of addresses without a class yet
 *     1:<p> one per client share (rate = fair share, ceil = link), with leaves
 *       1:<p+1> interactive (prio 0) · 1:<p+2> bulk (prio 1) · 1:<p+3> p2p (prio 7, ceil p2p_rate)
 *   1:3  the gateway's own traffic, outside the link class: not counted against residents
 *
 * Leaf rates are small on purpose: a leaf borrows from its client's class in priority order, so inside one
 * share interactive traffic goes first, while across shares each client's class guarantees its fair part.
 */

export type LeafQdisc = QdiscCapabilities['leaf'];

export const ROOT_MAJOR = 1;
export const LINK_MINOR = 0x1;
export const DEFAULT_MINOR = 0x2;
export const GATEWAY_MINOR = 0x3;
/** Slots are 8 minors apart: parent + 3 leaves, room to grow. */
const SLOT_BASE = 0x10;
const SLOT_STRIDE = 8;
export const MAX_SLOTS = Math.floor((0xffff - SLOT_BASE) / SLOT_STRIDE);

export const LEAVES: readonly Leaf[] = ['interactive', 'bulk', 'p2p'];
const LEAF_PRIO: Readonly<Record<Leaf, number>> = { interactive: 0, bulk: 1, p2p: 7 };
const LEAF_RATE = 8000;
/** The gateway's own class: fast enough to be no limit on a LAN (HTB needs some rate). */
const GATEWAY_RATE = 10e9;

export class HtbRenderError extends Error {
  override name = 'HtbRenderError';
}

const fail = (msg: string): never => {
  throw new HtbRenderError(msg);
};

export function parentMinor(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_SLOTS) fail(`class slot ${slot} is out of range`);
  return SLOT_BASE + slot * SLOT_STRIDE;
}

export function leafMinor(slot: number, leaf: Leaf): number {
  return parentMinor(slot) + 1 + LEAVES.indexOf(leaf);
}

/** The slot a parent minor belongs to, or undefined for fixed classes and leaves. */
export function slotOfMinor(minor: number): number | undefined {
  if (minor < SLOT_BASE || (minor - SLOT_BASE) % SLOT_STRIDE !== 0) return undefined;
  const s = (minor - SLOT_BASE) / SLOT_STRIDE;
  return s < MAX_SLOTS ? s : undefined;
}

export const classid = (minor: number): string => `${ROOT_MAJOR.toString(16)}:${minor.toString(16)}`;

function dev(name: string): string {
  if (typeof name !== 'string' || !isInterfaceName(name)) fail(`interface name ${JSON.stringify(name)} is not valid`);
  return name;
}

function bits(bps: number): string {
  if (!Number.isFinite(bps) || bps < 1) fail(`rate ${bps} is not a positive number`);
  return `${Math.max(1, Math.round(bps))}bit`;
}

function uint(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) fail(`${n} is not a non-negative integer`);
  return String(n);
}

/** Bytes a class may send at once: 10 ms at its rate, at least two full frames. */
const burstOf = (bps: number): number => Math.max(3028, Math.round(bps / 8 / 100));
/** A leaf queue of ~50 ms at its ceiling (no AQM here: a short queue is the latency bound). */
export const fifoLimit = (ceilBps: number): number => Math.min(200, Math.max(10, Math.round((ceilBps / 8) * 0.05 / 1514)));

function htbClass(verb: 'replace' | 'add', d: string, parent: number, minor: number, rate: number, ceil: number, extra: readonly string[]): string[] {
  return ['class', verb, 'dev', dev(d), 'parent', classid(parent), 'classid', classid(minor), 'htb', 'rate', bits(rate), 'ceil', bits(ceil), 'burst', uint(burstOf(rate)), 'cburst', uint(burstOf(ceil)), ...extra];
}

function leafQdisc(d: string, minor: number, kind: LeafQdisc, ceil: number): string[] {
  const head = ['qdisc', 'replace', 'dev', dev(d), 'parent', classid(minor), 'handle', `${minor.toString(16)}:`];
  switch (kind) {
    case 'cake':
      return [...head, 'cake', 'unlimited', 'besteffort'];
    case 'fq_codel':
      return [...head, 'fq_codel'];
    case 'sfq':
      return [...head, 'sfq', 'perturb', '10'];
    case 'pfifo':
      return [...head, 'pfifo', 'limit', uint(fifoLimit(ceil))];
  }
}

export interface DeviceSpec {
  readonly dev: string;
  readonly dir: Direction;
  readonly linkBps: number;
  readonly leaf: LeafQdisc;
}

/** Unknown forwarded traffic: a small guarantee, the whole link when idle. */
export const defaultRate = (linkBps: number): number => Math.max(LEAF_RATE, Math.round(linkBps / 100));

/** A client's guaranteed share: the link minus the default class, split evenly. */
export function shareOf(linkBps: number, clients: number): number {
  return Math.max(LEAF_RATE, Math.floor((linkBps - defaultRate(linkBps)) / Math.max(1, clients)));
}

/**
 * Root, link, default and gateway classes. `replace` everywhere: on a running tree (restart after kill -9)
 * it changes parameters in place and keeps every client class, so shaping has no gap.
 */
export function rootLines(d: DeviceSpec): string[][] {
  const link = d.linkBps;
  return [
    ['qdisc', 'replace', 'dev', dev(d.dev), 'root', 'handle', `${ROOT_MAJOR.toString(16)}:`, 'htb', 'default', GATEWAY_MINOR.toString(16), 'r2q', '100'],
    // parent 1:0 is the qdisc itself (tc reads it as 1:).
    htbClass('replace', d.dev, 0, LINK_MINOR, link, link, []),
    htbClass('replace', d.dev, LINK_MINOR, DEFAULT_MINOR, defaultRate(link), link, ['prio', '1', 'quantum', '1514']),
    leafQdisc(d.dev, DEFAULT_MINOR, d.leaf, link),
    htbClass('replace', d.dev, 0, GATEWAY_MINOR, GATEWAY_RATE, GATEWAY_RATE, ['quantum', '60000']),
  ];
}

export interface ClientClassSpec {
  readonly slot: number;
  /** Guaranteed rate of the client's share. */
  readonly rateBps: number;
  /** Ceiling: the link, or the fair-use rate. */
  readonly ceilBps: number;
  readonly p2pBps: number;
}

/** Only the client's parent class (its share moved: a client came or went, fair use on or off). */
export function clientChangeLines(d: DeviceSpec, c: ClientClassSpec, verb: 'replace' | 'add' = 'replace'): string[][] {
  return [htbClass(verb, d.dev, LINK_MINOR, parentMinor(c.slot), Math.min(c.rateBps, c.ceilBps), c.ceilBps, ['quantum', '1514'])];
}

/**
 * A client's parent class, its three leaves and their queues. `add` for a slot nothing uses (about twice as
 * fast in the kernel as `replace`, which looks the class up first); `replace` where a class may exist.
 */
export function clientLines(d: DeviceSpec, c: ClientClassSpec, verb: 'replace' | 'add' = 'replace'): string[][] {
  const p = parentMinor(c.slot);
  const out = clientChangeLines(d, c, verb);
  for (const leaf of LEAVES) {
    const minor = leafMinor(c.slot, leaf);
    const ceil = leaf === 'p2p' ? Math.min(c.p2pBps, d.linkBps) : d.linkBps;
    out.push(htbClass(verb, d.dev, p, minor, Math.min(LEAF_RATE, ceil), ceil, ['prio', String(LEAF_PRIO[leaf]), 'quantum', '1514']));
    out.push(leafQdisc(d.dev, minor, d.leaf, leaf === 'p2p' ? ceil : Math.min(ceil, c.ceilBps)));
  }
  return out;
}

/** Leaves first: HTB refuses to delete a class that still has children (their queues go with them). */
export function clientRemoveLines(devName: string, slot: number): string[][] {
  const p = parentMinor(slot);
  return [...LEAVES.map((l) => ['class', 'del', 'dev', dev(devName), 'classid', classid(leafMinor(slot, l))]), ['class', 'del', 'dev', dev(devName), 'classid', classid(p)]];
}

/** Removing the root takes every class and queue with it: the interface is back to its default qdisc. */
export function teardownArgv(devName: string): string[] {
  return ['qdisc', 'del', 'dev', dev(devName), 'root'];
}

/** tc -batch text: one command per line; every token was built above from checked values. */
export function batchText(lines: readonly (readonly string[])[]): string {
  for (const l of lines) for (const t of l) if (!/^[A-Za-z0-9_.:@-]+$/.test(t)) fail(`token ${JSON.stringify(t)} must not reach tc`);
  return lines.map((l) => l.join(' ')).join('\n') + (lines.length ? '\n' : '');
}
