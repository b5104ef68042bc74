// Preloaded with NODE_OPTIONS=--import=… by bench/dns.ts --cpu-prof (Node 20 refuses --cpu-prof in NODE_OPTIONS,
// and the resolver workers are forked without the daemon's flags): profiles every node process of the server
// and writes <dir>/<pid>.cpuprofile when it exits. The main-thread inspector answers synchronously, so the
// 'exit' handler can stop the profiler and write the file.
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.GH_CPU_PROF_DIR;
if (dir) {
  const s = new Session();
  s.connect();
  s.post('Profiler.enable');
  s.post('Profiler.setSamplingInterval', { interval: 200 });
  s.post('Profiler.start');
  process.once('exit', () => {
    s.post('Profiler.stop', (err, res) => {
      if (err || !res) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
