import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatProblem, type ConfigProblem } from '../../src/config/index.js';
import { checkConfig, loadConfig } from '../../src/daemon/index.js';

/* Issue #8, finding 3: what a watcher may do beyond its own decisions is granted in lapi.machines. */

const dir = mkdtempSync(join(tmpdir(), 'harden-machines-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function write(yaml: string): string {
  const file = join(dir, `c${++n}.yaml`);
  writeFileSync(file, yaml.replace(/^\n/, ''));
  return file;
}
const BASE = 'interfaces:\n  lan: [eth1]\n  wan: [eth0]\n';

function problemAt(problems: ConfigProblem[], path: string): ConfigProblem {
  const p = problems.find((x) => x.path === path);
  assert.ok(p, `no problem at ${path}; got:\n${problems.map(formatProblem).join('\n')}`);
  return p;
}

describe('lapi.machines', () => {
  it('grants origins per machine; absent means every watcher is limited to its own', () => {
    const c = loadConfig(write(`${BASE}lapi:\n  machines:\n    - name: cscli-admin\n      delete_origins: [manual, "lapi:*", "*"]\n`));
    assert.deepEqual(c.lapi?.machines, [{ name: 'cscli-admin', delete_origins: ['manual', 'lapi:*', '*'] }]);
    assert.equal(loadConfig(write(`${BASE}lapi: {}\n`)).lapi?.machines, undefined);
  });

  it('a typo, a bad pattern, a duplicate and an empty grant are reported at FILE:LINE:COL', () => {
    const file = write(`${BASE}lapi:
  machines:
    - name: a
      delete_origin: [manual]
    - name: b
      delete_origins: ["fe*ed:x"]
    - name: b
      delete_origins: []
    - name: "bad name"
      delete_origins: [manual]
`);
    const problems = checkConfig(file);
    const typo = problemAt(problems, 'lapi.machines[0].delete_origin');
    assert.match(typo.message, /did you mean "delete_origins"/);
    assert.equal(typo.line, 7);
    assert.match(formatProblem(typo), new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:7:\\d+: lapi\\.machines\\[0\\]\\.delete_origin: `));
    assert.match(problemAt(problems, 'lapi.machines[1].delete_origins[0]').message, /"\*" may only end an origin pattern/);
    assert.match(problemAt(problems, 'lapi.machines[2].name').message, /already used by lapi\.machines\[1\]/);
    assert.match(problemAt(problems, 'lapi.machines[2].delete_origins').message, /at least one origin/);
    assert.match(problemAt(problems, 'lapi.machines[3].name').message, /machine id/);
  });
});
