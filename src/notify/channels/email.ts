import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { EmailConfig } from '../config.js';
import type { Channel, Message } from '../types.js';

/** SMTP through nodemailer: STARTTLS required unless turned off, auth when a user is given. */
export function emailChannel(name: string, c: EmailConfig): Channel {
  return {
    name,
    type: 'email',
    async send(m: Message) {
      // Read at each send: a rotated password needs no restart, and a missing file is a visible failure.
      const auth = c.user && c.password_file ? { user: c.user, pass: readFileSync(c.password_file, 'utf8').trim() } : undefined;
      const transport = nodemailer.createTransport({
        host: c.host,
        port: c.port,
        secure: c.tls,
        requireTLS: c.starttls && !c.tls,
        // Without starttls the admin chose a plain connection (a relay on the LAN): no upgrade by surprise.
        ignoreTLS: !c.starttls && !c.tls,
        connectionTimeout: c.timeout,
        greetingTimeout: c.timeout,
        socketTimeout: c.timeout,
        ...(auth ? { auth } : {}),
      });
      try {
        await transport.sendMail({
          from: c.from,
          to: c.to,
          subject: `[gatehouse] ${m.subject}`,
          text: `${m.text}\n\n-- \nGatehouse, ${new Date(m.at).toISOString()}`,
          headers: { 'X-Gatehouse-Kind': m.kind, 'X-Gatehouse-Severity': m.severity },
        });
      } finally {
        transport.close();
      }
    },
  };
}
