import { createHash, randomInt } from 'node:crypto';
import type { StoreHandle } from '../modules/index.js';
import type { VoucherLimits } from './limits.js';

/*
 * Vouchers: random codes like `K7QM-3XHA-92PD` (12 characters from 32 unambiguous ones: 60 bits), stored as
 * sha256 only (a code is a secret with enough entropy that a plain hash cannot be reversed by guessing) plus
 * its first 4 characters, which are unique among stored vouchers and name the voucher's identity
 * (`voucher:K7QM`) in sessions, usage and `vouchers list`.
 */

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const LENGTH = 12;
export const PREFIX_LENGTH = 4;

export interface VoucherSpec {
  readonly count: number;
  readonly timeMs?: number;
  readonly download?: number;
  readonly upload?: number;
  readonly uses: number;
}

export interface VoucherInfo {
  readonly id: number;
  readonly prefix: string;
  readonly timeMs: number | null;
  readonly download: number | null;
  readonly upload: number | null;
  readonly uses: number;
  readonly used: number;
  readonly firstUsedAt: number | null;
  readonly createdAt: number;
}

export type Redeemed = { readonly ok: true; readonly voucher: VoucherInfo; readonly limits: VoucherLimits; readonly identity: string } | { readonly ok: false; readonly why: 'unknown' | 'used_up' | 'expired' };

/** Upper case, separators and spaces dropped: `k7qm 3xha-92pd` is the same code. */
export function normalizeCode(code: string): string {
  return code.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

export const formatCode = (c: string): string => c.match(/.{1,4}/g)!.join('-');
const hashCode = (normalized: string) => createHash('sha256').update(normalized).digest('hex');
export const voucherIdentity = (prefix: string) => `voucher:${prefix}`;

function newCode(): string {
  let s = '';
  for (let i = 0; i < LENGTH; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

const COLUMNS = 'id, prefix, time_ms AS timeMs, download, upload, uses, used, first_used_at AS firstUsedAt, created_at AS createdAt';

export class VoucherRepo {
  constructor(
    private readonly db: StoreHandle,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Creates `count` vouchers in one transaction; returns the codes (shown once, never stored). */
  create(spec: VoucherSpec): string[] {
    const insert = this.db.prepare('INSERT INTO portal_vouchers (prefix, hash, time_ms, download, upload, uses, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const prefixTaken = this.db.prepare('SELECT 1 FROM portal_vouchers WHERE prefix = ?');
    const now = this.clock();
    return this.db.transaction(() => {
      const codes: string[] = [];
      for (let i = 0; i < spec.count; i++) {
        let code = newCode();
        // 2^20 prefixes: a collision is rare and retried; a full table gives up with a clear message.
        for (let tries = 0; prefixTaken.get(code.slice(0, PREFIX_LENGTH)) !== undefined; tries++) {
          if (tries > 50) throw new Error('too many vouchers to find a free code prefix: delete used ones first (gatehouse vouchers delete)');
          code = newCode();
        }
        insert.run(code.slice(0, PREFIX_LENGTH), hashCode(code), spec.timeMs ?? null, spec.download ?? null, spec.upload ?? null, spec.uses, now);
        codes.push(formatCode(code));
      }
      return codes;
    })();
  }

  list(): VoucherInfo[] {
    return this.db.prepare<[], VoucherInfo>(`SELECT ${COLUMNS} FROM portal_vouchers ORDER BY created_at, id`).all();
  }

  /** By its prefix (what `list` shows) or its whole code; returns how many went. */
  delete(prefixOrCode: string): number {
    const n = normalizeCode(prefixOrCode);
    if (n.length === LENGTH) return this.db.prepare('DELETE FROM portal_vouchers WHERE hash = ?').run(hashCode(n)).changes;
    return this.db.prepare('DELETE FROM portal_vouchers WHERE prefix = ?').run(n).changes;
  }

  byId(id: number): VoucherInfo | undefined {
    return this.db.prepare<[number], VoucherInfo>(`SELECT ${COLUMNS} FROM portal_vouchers WHERE id = ?`).get(id);
  }

  byPrefix(prefix: string): VoucherInfo | undefined {
    return this.db.prepare<[string], VoucherInfo>(`SELECT ${COLUMNS} FROM portal_vouchers WHERE prefix = ?`).get(prefix);
  }

  /** The voucher a code names, without taking a use. */
  lookup(code: string): VoucherInfo | undefined {
    const n = normalizeCode(code);
    if (n.length !== LENGTH) return undefined;
    return this.db.prepare<[string], VoucherInfo>(`SELECT ${COLUMNS} FROM portal_vouchers WHERE hash = ?`).get(hashCode(n));
  }

  /** Takes one use of the voucher, atomically (two devices racing for the last use: one wins). */
  redeem(code: string): Redeemed {
    const n = normalizeCode(code);
    if (n.length !== LENGTH) return { ok: false, why: 'unknown' };
    const now = this.clock();
    return this.db.transaction((): Redeemed => {
      const v = this.db.prepare<[string], VoucherInfo>(`SELECT ${COLUMNS} FROM portal_vouchers WHERE hash = ?`).get(hashCode(n));
      if (!v) return { ok: false, why: 'unknown' };
      const limits = voucherLimits(v);
      if (limits.validUntil !== undefined && now >= limits.validUntil) return { ok: false, why: 'expired' };
      if (v.used >= v.uses) return { ok: false, why: 'used_up' };
      this.db.prepare('UPDATE portal_vouchers SET used = used + 1, first_used_at = COALESCE(first_used_at, ?) WHERE id = ?').run(now, v.id);
      const after = { ...v, used: v.used + 1, firstUsedAt: v.firstUsedAt ?? now };
      return { ok: true, voucher: after, limits: voucherLimits(after), identity: voucherIdentity(v.prefix) };
    })();
  }
}

/** A voucher's limits: its time counts from the first use, over all its sessions. */
export function voucherLimits(v: VoucherInfo): VoucherLimits {
  return {
    ...(v.timeMs !== null ? { timeMs: v.timeMs } : {}),
    ...(v.download !== null ? { download: v.download } : {}),
    ...(v.upload !== null ? { upload: v.upload } : {}),
    ...(v.timeMs !== null && v.firstUsedAt !== null ? { validUntil: v.firstUsedAt + v.timeMs } : {}),
  };
}
