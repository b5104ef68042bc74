/** One element of a hit set as nft prints it with -j (nft 1.0.6 layout, see research/gateway.md §D.2). */
export interface HitSample {
  readonly client: string;
  readonly remote: string;
  readonly protocol: string;
  readonly port: number;
  readonly packets: number;
  readonly bytes: number;
  /** Seconds left before the kernel forgets the pair; each new hit resets it to the set's timeout. */
  readonly expiresSec: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Tolerant parser: anything not shaped like a hit element is ignored rather than trusted. */
export function parseHitSet(json: unknown): HitSample[] {
  if (!isObj(json) || !Array.isArray(json.nftables)) return [];
  const out: HitSample[] = [];
  for (const item of json.nftables) {
    if (!isObj(item) || !isObj(item.set) || !Array.isArray(item.set.elem)) continue;
    for (const e of item.set.elem) {
      const el = isObj(e) && isObj(e.elem) ? e.elem : undefined;
      if (!el || !isObj(el.val) || !Array.isArray(el.val.concat)) continue;
      const [client, remote, proto, port] = el.val.concat as unknown[];
      if (typeof client !== 'string' || typeof remote !== 'string') continue;
      const counter = isObj(el.counter) ? el.counter : {};
      out.push({
        client,
        remote,
        protocol: typeof proto === 'string' ? proto : typeof proto === 'number' ? String(proto) : 'unknown',
        port: typeof port === 'number' ? port : 0,
        packets: typeof counter.packets === 'number' ? counter.packets : 0,
        bytes: typeof counter.bytes === 'number' ? counter.bytes : 0,
        expiresSec: typeof el.expires === 'number' ? el.expires : 0,
      });
    }
  }
  return out;
}
