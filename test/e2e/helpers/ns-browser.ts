import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { netnsPath } from '../../../src/lab/ns.js';

/** Debian's chromium package. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Debian chromium inside a lab namespace, driven by playwright-core over its pipe: playwright
 * starts a small wrapper that runs chromium under `ip netns exec` (the namespace, and its resolv.conf naming
 * the gateway), so every request
 * the browser makes leaves from the LAN client, as a resident's laptop would. A fresh profile each time.
 */
export class NsBrowser {
  private constructor(
    readonly browser: Browser,
    readonly context: BrowserContext,
    private readonly dir: string,
  ) {}

  static async launch(ns: string): Promise<NsBrowser> {
    const dir = await mkdtemp(join(tmpdir(), 'gh-chromium-'));
    netnsPath(ns); // validates the name before it goes into the wrapper
    const wrapper = join(dir, 'chromium-in-ns');
    // Our own fixed paths only (the namespace name is a validated lab name).
    await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM} "$@"\n`);
    await chmod(wrapper, 0o755);
    try {
      const browser = await chromium.launch({
        executablePath: wrapper,
        headless: true,
        chromiumSandbox: false,
        timeout: 60_000,
        args: [
          '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
          // No DNS prefetch or "did you mean" lookups: only what the page asks for goes on the wire.
          '--dns-prefetch-disable', '--disable-features=NetworkPrediction,AutofillServerCommunication,MediaRouter,OptimizationHints',
        ],
        env: { ...process.env, HOME: dir },
      });
      const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, ignoreHTTPSErrors: false });
      return new NsBrowser(browser, context, dir);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
