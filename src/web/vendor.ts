import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** htmx and chart.js's UMD build, read from node_modules once: the daemon serves them, no CDN. */
export async function loadVendorScripts(): Promise<{ htmx: Buffer; chart: Buffer }> {
  const require = createRequire(import.meta.url);
  const htmx = require.resolve('htmx.org/dist/htmx.min.js');
  // chart.js exports no subpath for its UMD file; it sits next to the main entry.
  const chart = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
  return { htmx: await readFile(htmx), chart: await readFile(chart) };
}
