export interface FeedRefreshEvent {
  readonly feed: string;
  /** applied / not_modified: the list is current; refused / failed: the previous entries stay enforced. */
  readonly outcome: 'applied' | 'not_modified' | 'refused' | 'failed';
  /** Entries enforced for this feed after the refresh, when known. */
  readonly entries?: number;
  readonly message: string;
}

declare module '../events/map.js' {
  interface GatehouseEvents {
    /** A feed refresh that left the feed's list current. */
    'feeds.refreshed': FeedRefreshEvent & { readonly outcome: 'applied' | 'not_modified' };
    /** A feed refresh that was refused (guard) or failed (fetch, parse, store): nothing was changed. */
    'feeds.refused': FeedRefreshEvent & { readonly outcome: 'refused' | 'failed' };
  }
}
