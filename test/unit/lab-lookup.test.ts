import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeLookup, parseDig } from '../../src/lab/lookup.js';

// What dig 9.18 prints with +noall +comments +answer (captured from the lab).
const BLOCKED = `;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 4242
;; flags: qr rd ra; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
; EDE: 15 (Blocked): (blocked by list demo_ads (adnet.example) for group default)
`;
const CNAME = `;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 7
;; flags: qr rd ra; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
;; ANSWER SECTION:
www.shop.example.	60	IN	CNAME	shop.example.
shop.example.	60	IN	A	198.51.100.10
`;

describe('a lab client lookup as a person reads it', () => {
  it('a blocked name: the status and the Extended DNS Error', () => {
    const r = parseDig('pixel.adnet.example', 'A', BLOCKED);
    assert.equal(r.status, 'NXDOMAIN');
    assert.deepEqual(r.answers, []);
    assert.equal(describeLookup(r), 'NXDOMAIN — 15 (Blocked): (blocked by list demo_ads (adnet.example) for group default)');
  });

  it('an answer with a CNAME: every record of the answer section, in order', () => {
    const r = parseDig('www.shop.example', 'A', CNAME);
    assert.deepEqual(r.answers, ['shop.example.', '198.51.100.10']);
    assert.equal(r.ede, undefined);
    assert.equal(describeLookup(r), 'shop.example., 198.51.100.10');
  });

  it('no answer at all is a timeout, not an empty success', () => {
    const r = parseDig('x.example', 'A', ';; communications error to 10.77.0.1#53: timed out\n');
    assert.equal(describeLookup(r), 'TIMEOUT');
  });
});
