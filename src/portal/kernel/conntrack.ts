import { launch } from '../../firewall/index.js';

/** Runs `conntrack` with an argv array (the daemon: through the firewall's launcher; tests: in a namespace). */
export type ConntrackRun = (argv: readonly string[]) => Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }>;

export const systemConntrack: ConntrackRun = (argv) => launch('conntrack', argv);

/**
 * The argv lists that delete every flow of one address: the ones it opened (original source) and the ones
 * opened towards it (reply source: also port-forwarded flows, whose original destination is the WAN
 * address). The address was parsed by the caller (normalIp + the runtime's checks ran first).
 */
export function flushArgs(ip: string): string[][] {
  const fam = ip.includes(':') ? 'ipv6' : 'ipv4';
  return [
    ['-D', '-f', fam, '-s', ip],
    ['-D', '-f', fam, '-r', ip],
  ];
}

/** conntrack exits 1 when nothing matched ("0 flow entries have been deleted"): not a failure here. */
export function flushFailed(r: { readonly code: number; readonly stderr: string }): boolean {
  return r.code !== 0 && !/flow entries have been deleted/.test(r.stderr);
}
