/**
 * What s2's P2P detection and hog-guard rules cost per packet: TCP download throughput (iperf3 -R, one
 * stream) from the lab internet to a LAN client through the lab gateway, in the same run, with
 *   - off:        no Gatehouse table,
 *   - on:         detection + guards as the shaper loads them (a flow past 10 MB is an elephant and skips
 *                 the signature compares),
 *   - worst case: the same with the elephant bit off, so every packet of the download runs the signature chain.
 * and the packet rate of small UDP datagrams (iperf3 -u -l 64, client → internet: one nft pass per packet,
 * no GRO to amortise it). No HTB here (s1's bench measures the whole shaper): only the nft rules differ.
 * Rounds alternate the configurations; the median per configuration is reported with its ratio to off.
 *
 *   node --import tsx bench/shaper-p2p-rules.ts [--rounds 3] [--seconds 4]     # root; lab prefix sp
 *
 * Writes bench/results/shaper-p2p-latest.md.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { composeTable } from '../src/firewall/compose.js';
import { labDown, labUp } from '../src/lab/lab.js';
import { nsExec, spawnInNs } from '../src/lab/ns.js';
import { detectionParts } from '../src/shaper/guards/index.js';
import { mergeParts } from '../src/shaper/fragment.js';
import { median } from './lib/stats.js';
import { loadavg } from 'node:os';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};

type Config = 'off' | 'on' | 'worst case';

async function main(): Promise<void> {
  const rounds = arg('rounds', 3);
  const seconds = arg('seconds', 4);
  const loadAtStart = loadavg()[0]!;
  const lab = await labUp({ prefix: 'sp', startServers: false });
  try {
    const topo = lab.topology;
    const gw = topo.namespaces.gw;
    // The elephant rules compare conntrack's byte counters, which the kernel keeps only with accounting on
    // (per namespace, off by default); the daemon turns it on at start (guards/acct.ts), so the bench does too.
    await nsExec(gw, 'sysctl', ['-qw', 'net.netfilter.nf_conntrack_acct=1']);
    const server = topo.sites.legit.ipv4;
    spawnInNs(topo.namespaces.inet, 'iperf3', ['-s', '-B', server, '-p', '5201'], { stdio: 'ignore', detached: true }).unref();
    await new Promise((r) => setTimeout(r, 1000));
    const script = (elephantBytes: number): string => {
      const parts = detectionParts({ lan: topo.gateway.lanInterfaces, p2p: 'throttle', maxConnections: 300, newConnectionsPerSecond: 50, elephantBytes });
      return composeTable('gatehouse', [{ module: 'shaper', ...mergeParts(parts) }]).script;
    };
    const apply = async (c: Config): Promise<void> => {
      await nsExec(gw, 'nft', ['delete', 'table', 'inet', 'gatehouse']).catch(() => undefined);
      if (c !== 'off') await nsExec(gw, 'nft', ['-f', '-'], { input: script(c === 'on' ? 10_000_000 : 0) });
    };
    interface Sum { bits_per_second: number; packets: number; lost_packets: number; seconds: number }
    /** One iperf3 run; retried while the server still winds the previous test down ("busy"). */
    const iperf = async (extra: readonly string[]): Promise<{ end: { sum_received: Sum } }> => {
      for (let attempt = 0; ; attempt++) {
        const out = await nsExec(topo.clients[0].ns, 'iperf3', ['-c', server, '-p', '5201', '-t', String(seconds), '-J', ...extra], { timeoutMs: (seconds + 20) * 1000 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '{}' }));
        const j = JSON.parse(out.stdout) as { error?: string; end?: { sum_received?: Sum } };
        if (j.end?.sum_received) return j as { end: { sum_received: Sum } };
        if (attempt >= 5) throw new Error(`iperf3 ${extra.join(' ')}: ${j.error ?? 'no result'}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    /** Flows the rules marked as elephants (ct mark bit 0x2), among those conntrack still holds after a run. */
    const elephantFlows = async (): Promise<number> => {
      const out = await nsExec(gw, 'conntrack', ['-L']).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
      return [...out.stdout.matchAll(/mark=(\d+)/g)].filter((m) => (Number(m[1]) & 0x2) !== 0).length;
    };
    const elephants: number[] = [];
    const results = new Map<Config, number[]>([['off', []], ['on', []], ['worst case', []]]);
    const pps = new Map<Config, number[]>([['off', []], ['on', []], ['worst case', []]]);
    for (let r = 0; r < rounds; r++) {
      for (const c of results.keys()) {
        await apply(c);
        const tcp = await iperf(['-R']);
        const bps = tcp.end.sum_received.bits_per_second;
        results.get(c)!.push(bps);
        if (c === 'on') elephants.push(await elephantFlows());
        const sum = (await iperf(['-u', '-l', '64', '-b', '0'])).end.sum_received;
        pps.get(c)!.push((sum.packets - sum.lost_packets) / sum.seconds);
        process.stderr.write(`round ${r + 1} ${c}: ${(bps / 1e9).toFixed(2)} Gbit/s, ${Math.round(pps.get(c)!.at(-1)!)} small packets/s\n`);
      }
    }
    const off = median(results.get('off')!);
    const offPps = median(pps.get('off')!);
    const lines = [
      '# s2 detection + guard rules: forwarding cost (bench/shaper-p2p-rules.ts)',
      '',
      `${new Date().toISOString()}, load average at the start ${loadAtStart.toFixed(1)}, ${rounds} rounds of ${seconds} s, one TCP stream internet → LAN client through the lab gateway (veth, GRO on).`,
      `Conntrack accounting on in the gateway (as the daemon sets it). Flows marked elephant after each "on" TCP run: ${elephants.join(', ')} (the download passes 10 MB, so at least 1 means the bypass worked).`,
      '',
      '| rules | TCP median Gbit/s | ratio | 64-byte UDP median packets/s received | ratio | TCP runs |',
      '|---|---|---|---|---|---|',
      ...[...results].map(([c, xs]) => {
        const p = median(pps.get(c)!);
        return `| ${c} | ${(median(xs) / 1e9).toFixed(2)} | ${(median(xs) / off).toFixed(2)} | ${Math.round(p)} | ${(p / offPps).toFixed(2)} | ${xs.map((x) => (x / 1e9).toFixed(2)).join(', ')} |`;
      }),
      '',
      'Shared 2-vCPU machine: compare within one run only.',
    ];
    const text = lines.join('\n') + '\n';
    process.stdout.write(text);
    await writeFile(resolve(import.meta.dirname, 'results', 'shaper-p2p-latest.md'), text);
  } finally {
    await labDown('sp');
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
