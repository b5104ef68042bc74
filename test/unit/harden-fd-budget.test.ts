/**
 * The listeners' connection caps together must stay well under the open-file limit, with descriptors
 * kept for nft, SQLite and feeds: otherwise a flood of connections is again a way to stop nft.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FD_RESERVE, budgetLimits, openFileLimit, parseOpenFileLimit } from '../../src/net/fd-budget.js';
import { LISTENER_LIMITS } from '../../src/net/listeners.js';

const LIMITS_TEXT = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

/** Every listener's full cap together (lapi 1024, mirror 256, portal 512, api and web 64 each…). */
const FULL_CAPS = Object.values(LISTENER_LIMITS).reduce((n, l) => n + l.maxConnections, 0);

describe('open-file budget', () => {
  it('reads the soft limit from /proc/self/limits', () => {
    assert.equal(parseOpenFileLimit(LIMITS_TEXT), 1024);
    assert.equal(parseOpenFileLimit(LIMITS_TEXT.replace('1024                 524288', 'unlimited            unlimited')), undefined);
    assert.equal(parseOpenFileLimit('garbage'), undefined);
    const own = openFileLimit();
    assert.ok(own === undefined || own > 0);
  });

  it('keeps the full caps when they fit, and says nothing', () => {
    const b = budgetLimits({ ...LISTENER_LIMITS }, 20_000);
    assert.deepEqual(b.limits, LISTENER_LIMITS);
    assert.equal(b.connections, FULL_CAPS);
    assert.equal(b.warning, undefined);
  });

  it('shrinks every cap to fit a low limit, keeps the reserve, and says what to raise', () => {
    const b = budgetLimits({ ...LISTENER_LIMITS }, 1024);
    assert.ok(b.connections + FD_RESERVE <= 1024, `${b.connections} connections + ${FD_RESERVE} reserve`);
    const lapi = b.limits['lapi.listen']!;
    assert.ok(lapi.maxConnections < 1024 && lapi.maxConnections >= 8);
    assert.ok(lapi.maxPerClient <= lapi.maxConnections / 4);
    assert.equal(b.limits['api.socket']!.maxPerClient, 0, 'the Unix socket has no per-client cap');
    assert.equal(lapi.headersTimeoutMs, LISTENER_LIMITS['lapi.listen'].headersTimeoutMs, 'timeouts are not scaled');
    assert.match(b.warning ?? '', new RegExp(`open-file limit 1024 .*LimitNOFILE.* at least ${FULL_CAPS + FD_RESERVE}\\b`));
  });

  it('only counts the listeners in use', () => {
    const b = budgetLimits({ 'api.socket': LISTENER_LIMITS['api.socket'] }, 400);
    assert.equal(b.warning, undefined);
    assert.equal(b.connections, 64);
  });
});
