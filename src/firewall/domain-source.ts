/** A LAN client and the remote address of a connection the firewall blocked (outbound). */
export interface DomainPair {
  readonly client: string;
  readonly remote: string;
}

/**
 * Who can say which domain a client looked up before it connected to a remote address: the DNS filter's
 * resolver workers (their ResolvedNames). Answers in the order of `pairs`; undefined where it does not know.
 */
export type DomainSource = (pairs: readonly DomainPair[]) => Promise<readonly (string | undefined)[]>;

/** How long recording hits waits for the domains (the DNS workers answer in well under a millisecond when idle). */
export const DOMAIN_WAIT_MS = 250;

/** A domain as a block report shows it: a DNS name, nothing longer or stranger (it comes from another process). */
const DOMAIN = /^[a-z0-9_*.-]{1,253}$/i;

/**
 * Asks the source, waiting at most `waitMs`: a slow, failing or confused source yields no domains and
 * never holds up or breaks the recording of hits.
 */
export async function domainsFor(
  source: DomainSource,
  pairs: readonly DomainPair[],
  waitMs: number,
  onError?: (why: string) => void,
): Promise<(string | undefined)[]> {
  const none = pairs.map(() => undefined);
  if (pairs.length === 0) return none;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), waitMs);
  });
  try {
    const got = await Promise.race([source(pairs), late]);
    if (got === 'late') {
      onError?.(`no answer within ${waitMs} ms`);
      return none;
    }
    if (!Array.isArray(got) || got.length !== pairs.length) {
      onError?.('answer does not match the question');
      return none;
    }
    return got.map((d) => (typeof d === 'string' && DOMAIN.test(d) ? d.toLowerCase() : undefined));
  } catch (e) {
    onError?.((e as Error)?.message ?? String(e));
    return none;
  } finally {
    clearTimeout(timer);
  }
}
