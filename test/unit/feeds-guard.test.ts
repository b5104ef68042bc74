import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRefresh } from '../../src/feeds/guard.js';
import { parseList } from '../../src/feeds/parse.js';

const ips = (n: number, base = 1): string => Array.from({ length: n }, (_, i) => `${base}.0.${(i >> 8) & 255}.${i & 255}`).join('\n');

describe('checkRefresh', () => {
  it('refuses a list that collapsed from 6,612 to 12 entries, in plain words', () => {
    const v = checkRefresh(6612, parseList(ips(12), 'plain'), 0.5, { feed: 'firehol' });
    assert.equal(v.accept, false);
    assert.equal(v.reason, 'feed firehol returned 12 entries, previously 6,612 (-100%, limit -50%): keeping the previous list');
  });

  it('refuses an empty list when the previous one was not empty', () => {
    const v = checkRefresh(936, parseList('; Spamhaus DROP\n; nothing today\n', 'spamhaus_drop'), 0.5, { feed: 'drop' });
    assert.equal(v.accept, false);
    assert.match(v.reason!, /^feed drop returned no entries \(2 lines, all comments or blank\), previously 936: keeping the previous list$/);
  });

  it('refuses an empty body even with maxShrink 1', () => {
    const v = checkRefresh(10, parseList('', 'plain'), 1, { feed: 'x' });
    assert.equal(v.accept, false);
    assert.match(v.reason!, /the body was empty/);
  });

  it('refuses when most data lines are garbage (an HTML error page), naming a sample line', () => {
    const html = '<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n1.2.3.4\n</body>\n</html>\n';
    const v = checkRefresh(0, parseList(html, 'plain'), 0.5, { feed: 'blocklist' });
    assert.equal(v.accept, false);
    assert.match(v.reason!, /^feed blocklist: 5 of 6 data lines \(83%\) are not valid plain entries, e\.g\. line 1: "<html>" .*nothing loaded$/);
  });

  it('accepts a normal refresh, a shrink within the limit, a growth, and a first load', () => {
    assert.deepEqual(checkRefresh(100, parseList(ips(100), 'plain'), 0.5), { accept: true });
    assert.equal(checkRefresh(100, parseList(ips(60), 'plain'), 0.5).accept, true);
    assert.equal(checkRefresh(100, parseList(ips(40), 'plain'), 0.5).accept, false);
    assert.equal(checkRefresh(100, parseList(ips(40), 'plain'), 0.7).accept, true);
    assert.equal(checkRefresh(10, parseList(ips(5000), 'plain'), 0.5).accept, true);
    assert.equal(checkRefresh(undefined, parseList(ips(3), 'plain'), 0.5).accept, true);
  });

  it('accepts a first load that is empty but says so', () => {
    const v = checkRefresh(0, parseList('# empty\n', 'plain'), 0.5, { feed: 'new' });
    assert.equal(v.accept, true);
    assert.match(v.reason!, /feed new returned no entries/);
  });

  it('accepts a few bad lines and mentions them', () => {
    const v = checkRefresh(5, parseList(`${ips(10)}\nbogus\n`, 'plain'), 0.5, { feed: 'f' });
    assert.equal(v.accept, true);
    assert.equal(v.reason, 'feed f: 1 unreadable lines skipped');
  });
});
