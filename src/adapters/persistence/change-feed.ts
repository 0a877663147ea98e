// How a store tells a cache in front of it that records changed, whoever changed them: this replica,
// another replica, or the old Python store during the move. MongoDB tells through a change stream; the
// in-memory store tells of its own writes. While a feed is down, changes may go untold, and a cache falls
// back to expiring what it holds.

export interface ChangeListener {
  /** Records changed in the store: the one with `id`, or any (undefined) when the feed cannot say which. */
  changed(id?: string): void;
  /** From now on every change is told: what is read after this may be kept until a change says otherwise. */
  live(): void;
  /** Changes may go untold from now on, until live() again. */
  lost(): void;
}

/** Whether a feed tells changes now, and if not why: /readyz reports it (reads then go to the store after the TTL). */
export interface FeedHealth {
  live: boolean;
  detail?: string;
}

export interface ChangeFeed {
  /** Starts telling `listener`; answers a function that stops. */
  subscribe(listener: ChangeListener): () => void;
  /** Whether changes are told now, and if not why, for /readyz; a feed that never goes down has none. */
  health?(): FeedHealth;
}

/** A feed that never tells anything: what a cache over it holds expires by its TTL only. */
export const NO_CHANGE_FEED: ChangeFeed = { subscribe: () => () => undefined };

/** The listeners of a feed, told together. */
export class ChangeListeners implements ChangeListener {
  private readonly listeners = new Set<ChangeListener>();
  private state: 'live' | 'lost' = 'lost';

  constructor(initially: 'live' | 'lost' = 'lost') {
    this.state = initially;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    if (this.state === 'live') listener.live();
    return () => this.listeners.delete(listener);
  }

  get isLive(): boolean {
    return this.state === 'live';
  }

  changed(id?: string): void {
    for (const listener of this.listeners) listener.changed(id);
  }

  live(): void {
    this.state = 'live';
    for (const listener of this.listeners) listener.live();
  }

  lost(): void {
    this.state = 'lost';
    for (const listener of this.listeners) listener.lost();
  }
}
