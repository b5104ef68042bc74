import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ROOT } from './daemon.js';

export const ANCHOR_FILE = join(ROOT, 'bench', 'results', 'anchor-crowdsec-firewall-bouncer.json');
export const BOUNCER_BIN = '/usr/bin/crowdsec-firewall-bouncer';
export const INSTALL_PEERS = join(ROOT, 'scripts', 'install-peers.sh');

const figure = z.object({ size: z.number().int().positive(), ms: z.number().positive() });
const anchorSchema = z.object({
  anchor: z.string(),
  version: z.string(),
  source: z.string(),
  what: z.string(),
  figures: z.array(figure),
  raw_nft: z.object({ what: z.string(), figures: z.array(figure) }),
});
export type RecordedAnchor = z.infer<typeof anchorSchema>;

export async function loadRecordedAnchor(file = ANCHOR_FILE): Promise<RecordedAnchor> {
  const parsed = anchorSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: not an anchor record: ${parsed.error.message}`);
  return parsed.data;
}

export function figureFor(figures: readonly { size: number; ms: number }[], size: number): number | undefined {
  return figures.find((f) => f.size === size)?.ms;
}

export type AnchorMode = 'live' | 'recorded';

/** Why `live` cannot run here, or undefined when the real bouncer is installed. */
export function liveUnavailableReason(): string | undefined {
  if (existsSync(BOUNCER_BIN)) return undefined;
  return existsSync(INSTALL_PEERS)
    ? `${BOUNCER_BIN} is not installed (install it with: sudo bash scripts/install-peers.sh)`
    : `${BOUNCER_BIN} is not installed and scripts/install-peers.sh is not there yet`;
}
