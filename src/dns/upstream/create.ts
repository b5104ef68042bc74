/** From a parsed spec to a transport. */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { DohUpstream } from './doh.js';
import { parseUpstreamSpec, type UpstreamSpec } from './spec.js';
import { StreamUpstream, tcpConnector, tlsConnector, trustedCas } from './stream.js';
import type { TransportOptions, Upstream } from './types.js';
import { UdpUpstream } from './udp.js';

export function createUpstream(spec: UpstreamSpec | string, o: TransportOptions = {}): Upstream {
  const s = typeof spec === 'string' ? parseUpstreamSpec(spec) : spec;
  switch (s.protocol) {
    case 'udp': {
      const tcp = new StreamUpstream(`tcp://${s.text}`, tcpConnector(s.host, s.port), o.idleMs);
      return new UdpUpstream(s.text, s.host, s.port, tcp, o.udpSockets, o.udpRotateAfter);
    }
    case 'tcp':
      return new StreamUpstream(s.text, tcpConnector(s.host, s.port), o.idleMs);
    case 'tls': {
      const ca = trustedCas(o.caFile, (f) => readFileSync(f, 'utf8'));
      return new StreamUpstream(s.text, tlsConnector(s.host, s.port, s.tlsName, ca, undefined), o.idleMs);
    }
    case 'https': {
      const ca = trustedCas(o.caFile, (f) => readFileSync(f, 'utf8'));
      const name = s.tlsName ?? s.host;
      const authority = `https://${isIP(name) === 6 ? `[${name}]` : name}:${s.port}`;
      return new DohUpstream(s.text, authority, s.path ?? '/dns-query', s.method ?? 'POST', tlsConnector(s.host, s.port, s.tlsName, ca, ['h2']), o.idleMs);
    }
  }
}
