import type { ChannelConfig } from '../config.js';
import type { Channel } from '../types.js';
import { emailChannel } from './email.js';
import { webhookChannel } from './webhook.js';

export function openChannel(name: string, c: ChannelConfig): Channel {
  return c.type === 'email' ? emailChannel(name, c) : webhookChannel(name, c);
}
