/** Mnemonics for the record types and rcodes a query log shows; anything else prints as RFC 3597's TYPEn / RCODEn. */
const TYPES: ReadonlyMap<number, string> = new Map([
  [1, 'A'], [2, 'NS'], [5, 'CNAME'], [6, 'SOA'], [12, 'PTR'], [13, 'HINFO'], [15, 'MX'], [16, 'TXT'], [28, 'AAAA'],
  [33, 'SRV'], [35, 'NAPTR'], [39, 'DNAME'], [43, 'DS'], [46, 'RRSIG'], [47, 'NSEC'], [48, 'DNSKEY'], [50, 'NSEC3'],
  [52, 'TLSA'], [64, 'SVCB'], [65, 'HTTPS'], [255, 'ANY'], [257, 'CAA'],
]);
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

export function typeName(qtype: number): string {
  return TYPES.get(qtype) ?? `TYPE${qtype}`;
}

export function rcodeName(rcode: number): string {
  return RCODES[rcode] ?? `RCODE${rcode}`;
}
