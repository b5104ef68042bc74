/** The vocabulary of notifications: what happened (a notice), and what a channel is handed (a message). */

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

export const RULE_KINDS = [
  'outbound_block_new',
  'inbound_burst',
  'feed_problem',
  'lapi_unreachable',
  'daemon_restarted',
  'portal_bruteforce',
  'p2p_flagged',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** One thing that happened and may deserve a message. */
export interface Notice {
  readonly kind: RuleKind;
  readonly severity: Severity;
  /** Notices with the same kind and key are grouped into one message (e.g. the client's address). */
  readonly key: string;
  /** One line, plain words: "alice-laptop (192.168.1.10) tried 203.0.113.66:443 (amazon-signin.example): manual: fake login page". */
  readonly text: string;
  readonly at: number;
  /** Machine-readable details for the JSON template. */
  readonly data: Readonly<Record<string, unknown>>;
}

/** What a channel sends: one subject, one text, and the notices it stands for. */
export interface Message {
  readonly kind: RuleKind | 'digest' | 'test';
  readonly severity: Severity;
  readonly subject: string;
  readonly text: string;
  readonly at: number;
  readonly items: readonly Pick<Notice, 'text' | 'at' | 'data'>[];
}

/** A channel's result is either fine or an error message the queue records before retrying. */
export interface Channel {
  readonly name: string;
  readonly type: 'webhook' | 'email';
  send(m: Message): Promise<void>;
  close?(): void;
}
