/**
 * Runs LapiStreamClient as its own process so a test can start it inside a network namespace
 * (`nsenter --net=… node --import tsx csclient-driver.ts '<json options>'`). Prints one JSON line per event:
 * {"event":"update","update":…,"held":n} | {"event":"error","message":…,"held":n} | {"event":"started"}.
 * Exits on SIGTERM or when stdin closes.
 */
import { LapiStreamClient, type LapiStreamClientOptions } from '../../../src/crowdsec/client/index.js';

type DriverOptions = Omit<LapiStreamClientOptions, 'onUpdate' | 'onError'>;

const opts = JSON.parse(process.argv[2] ?? '{}') as DriverOptions;
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
let client: LapiStreamClient | undefined;
client = new LapiStreamClient({
  ...opts,
  onUpdate: (update) => void out({ event: 'update', update, held: client?.stats.held ?? 0 }),
  onError: (err) => void out({ event: 'error', message: err.message, held: client?.stats.held ?? 0 }),
});
client.start();
out({ event: 'started' });

const quit = async () => {
  await client?.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void quit());
process.stdin.on('end', () => void quit());
process.stdin.resume();
