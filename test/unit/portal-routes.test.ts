/**
 * The admin API's portal routes answer a bad request with a 400 that says what to fix, and the voucher
 * fields are read with units (`--time 8h --traffic 5GB`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { voucherSpec } from '../../src/portal/routes.js';

describe('portal routes: vouchers create', () => {
  it('reads time and traffic with units; uses default to 1', () => {
    assert.deepEqual(voucherSpec({ count: 20, time: '8h', traffic: '5GB' }), { count: 20, uses: 1, timeMs: 8 * 3_600_000, download: 5e9 });
    assert.deepEqual(voucherSpec({ count: 1, uses: 3, upload: '500MB' }), { count: 1, uses: 3, upload: 5e8 });
  });

  it('refuses what makes no voucher, saying which field', () => {
    const bad = (b: object, re: RegExp) => assert.throws(() => voucherSpec(b as never), (e: Error) => e.name === 'BadRequest' && re.test(e.message));
    bad({}, /^count: a whole number from 1 to 1000/);
    bad({ count: 0 }, /^count/);
    bad({ count: 1001 }, /^count/);
    bad({ count: 2.5 }, /^count/);
    bad({ count: 1, uses: 0 }, /^uses/);
    bad({ count: 1, time: '8 hours' }, /^time: /);
    bad({ count: 1, time: 8 }, /^time: a text/);
    bad({ count: 1, traffic: '5' }, /^traffic: expected an amount with a unit/);
  });
});
