import { request } from 'undici';
import type { WebhookConfig } from '../config.js';
import { webhookBody } from '../render.js';
import type { Channel, Message } from '../types.js';

/** A POST of the message in the channel's template; any 2xx is delivered, anything else is retried. */
export function webhookChannel(name: string, c: WebhookConfig): Channel {
  // Slack/Discord webhook URLs and ntfy topics are secrets: errors and logs name only the server.
  const where = new URL(c.url).origin;
  return {
    name,
    type: 'webhook',
    async send(m: Message) {
      const { body, contentType, headers } = webhookBody(m, c.template);
      const res = await request(c.url, {
        method: 'POST',
        body,
        headers: { 'content-type': contentType, 'user-agent': 'gatehouse-notify', ...headers, ...c.headers },
        headersTimeout: c.timeout,
        bodyTimeout: c.timeout,
      });
      const text = await res.body.text();
      if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`${where} answered ${res.statusCode}: ${text.slice(0, 200)}`);
    },
  };
}
