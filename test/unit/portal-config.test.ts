/**
 * The `portal:` section as an admin meets it: defaults, the example file's block, and mistakes reported with
 * FILE:LINE:COL (what `gatehouse config check` prints).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProblem } from '../../src/config/index.js';
import { checkConfig, loadConfig } from '../../src/daemon/index.js';
import { configFiles, exampleBlock } from './helpers/config-files.js';

const { dir, write } = configFiles('portal-config-');
const problems = (yaml: string) => checkConfig(write(yaml)).map(formatProblem);
const IFACES = 'interfaces: { lan: [lan0], wan: [wan0] }\n';

describe('portal: section', () => {
  it('is off without the section; with it, defaults fill in', () => {
    assert.equal(loadConfig(write(IFACES)).portal, undefined);
    const c = loadConfig(write(`${IFACES}portal: {}\n`)).portal;
    assert.ok(c);
    assert.equal(c.listen, '[::]:8880');
    assert.deepEqual(c.auth, ['accounts']);
    assert.equal(c.limits.action, 'relogin');
    assert.deepEqual(c.limits.daily, undefined);
    assert.equal(c.login_rate.failures, 5);
    assert.equal(c.poll, 2000);
  });

  it('reads limits with units, overrides per user, exempt MACs and ranges, texts', () => {
    const c = loadConfig(
      write(`${IFACES}portal:
  auth: [accounts, vouchers]
  limits:
    session_time: 8h
    idle: 30m
    download: 5GB
    upload: 1GB
    daily: { download: 10GB }
    max_devices: 3
    actions: { daily: throttle }
  user_limits:
    warden: { daily: { download: 50GB }, max_devices: 10 }
  exempt: [02:77:00:00:00:11, 10.77.0.200/30, "fd77::200"]
  texts: { title: Netzanmeldung }
`),
    ).portal!;
    assert.equal(c.limits.session_time, 8 * 3_600_000);
    assert.equal(c.limits.idle, 30 * 60_000);
    assert.equal(c.limits.download, 5e9);
    assert.deepEqual(c.limits.daily, { download: 10e9 });
    assert.equal(c.limits.actions.daily, 'throttle');
    assert.equal(c.user_limits['warden']?.max_devices, 10);
    assert.deepEqual(c.exempt, [{ mac: '02:77:00:00:00:11' }, { target: '10.77.0.200/30' }, { target: 'fd77::200' }]);
    assert.equal(c.texts.title, 'Netzanmeldung');
  });

  it('names the line and column of each mistake', () => {
    const p = problems(`${IFACES}portal:
  auth: [accounts, sms]
  limits:
    download: 5 gigs
    idle: 30
    actions: { session_time: throttle, weekly: throttle }
    dayly: { download: 1GB }
  exempt: [printer]
  texts: { titel: Hallo }
`);
    const has = (re: RegExp) => assert.ok(p.some((x) => re.test(x)), `${re} not in:\n${p.join('\n')}`);
    has(/:3:20: portal\.auth\[1\]: expected one of accounts, vouchers, click_through/);
    has(/:5:5: portal\.limits\.download: expected an amount with a unit/);
    has(/:6:5: portal\.limits\.idle: a duration needs a unit/);
    has(/:7:16: portal\.limits\.actions\.session_time: a session over its time can only end: relogin/);
    has(/:7:40: portal\.limits\.actions\.weekly: an action for a limit that is not set: add limits\.weekly/);
    has(/:8:5: portal\.limits\.dayly: unknown key.*did you mean "daily"/);
    has(/:9:12: portal\.exempt\[0\]: expected a MAC/);
    has(/:10:12: portal\.texts\.titel: unknown key.*did you mean "title"/);
  });

  it('needs interfaces like the firewall, and refuses the portal on the admin API address', () => {
    assert.ok(problems('portal: {}\n').some((x) => /interfaces/.test(x)));
    const p = problems(`${IFACES}api: { listen: 127.0.0.1:9000 }\nportal: { listen: 127.0.0.1:9000 }\n`);
    assert.ok(p.some((x) => /portal\.listen: same address as api\.listen/.test(x)), p.join('\n'));
  });

  it('refuses a captive interface that is not a LAN one, on its line, as the daemon would at start', () => {
    const p = problems(`${IFACES}portal:\n  interfaces: [lan0, wan0, wlan9]\n`);
    assert.deepEqual(
      p.filter((x) => /portal\.interfaces/.test(x)).map((x) => x.replace(/^.*\.yaml:/, '')),
      [
        '3:22: portal.interfaces[1]: "wan0" is not in interfaces.lan (lan0): add it there, or leave it out here',
        '3:28: portal.interfaces[2]: "wlan9" is not in interfaces.lan (lan0): add it there, or leave it out here',
      ],
    );
    assert.deepEqual(problems(`${IFACES}portal:\n  interfaces: [lan0]\n`), [], 'a LAN interface is fine');
  });

  it("the example file's portal block (uncommented) is valid", () => {
    const file = write(`data_dir: ${dir}\n${IFACES}${exampleBlock('portal')}\n`);
    assert.deepEqual(checkConfig(file).map(formatProblem), []);
  });
});
