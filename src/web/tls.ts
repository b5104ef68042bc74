import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TlsFiles } from '../net/listeners.js';
import type { WebConfig } from './config.js';

export const SELF_SIGNED_CERT = 'web-tls.crt';
export const SELF_SIGNED_KEY = 'web-tls.key';

function run(cmd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 60_000 }, (e, _out, err) => (e ? reject(new Error(`${cmd} failed: ${err.trim() || e.message}`)) : resolve())),
  );
}

/**
 * The certificate the dashboard serves: the configured files, or one made once with openssl (P-256, ten
 * years) and kept in data_dir, so the browser's exception the admin accepted stays valid across restarts.
 */
export async function loadTls(tls: WebConfig['tls'], dataDir: string): Promise<TlsFiles | undefined> {
  if (tls === undefined) return undefined;
  if (tls !== 'self_signed') {
    const read = async (key: 'cert' | 'key') => {
      try {
        return await readFile(tls[key]);
      } catch (e) {
        throw new Error(`web.tls.${key}: cannot read ${tls[key]}: ${(e as Error).message}`);
      }
    };
    return { cert: await read('cert'), key: await read('key') };
  }
  const cert = join(dataDir, SELF_SIGNED_CERT);
  const key = join(dataDir, SELF_SIGNED_KEY);
  if (!existsSync(cert) || !existsSync(key)) {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
      '-subj', '/CN=gatehouse dashboard', '-keyout', key, '-out', cert,
    ]);
    await chmod(key, 0o600);
  }
  return { cert: await readFile(cert), key: await readFile(key) };
}
