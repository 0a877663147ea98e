// The MongoDB change feed: a change stream on `integrations`, so every replica's cache hears of every change
// to the collection (this service's writes on any replica, the old Python store's during the move).
//
// Live from the first answer of the stream's aggregate (the driver then caches a resume token); every empty
// getMore that follows says so again (about once a second), so a stream that stopped answering is noticed.
// On an error the feed is lost (caches expire by TTL meanwhile) and the stream is opened again after a pause,
// after the last token it saw, so no change goes untold; when the server no longer has that point in its
// oplog (ChangeStreamHistoryLost) or the collection was dropped or renamed (invalidate), it opens afresh and
// tells the caches that anything may have changed.
import type { ChangeStream, ChangeStreamDocument, Collection, Document, ResumeToken } from 'mongodb';
import { ChangeListeners, type ChangeFeed, type ChangeListener } from '../change-feed';

const CHANGE_STREAM_HISTORY_LOST = 286;
const CHANGE_STREAM_FATAL = 280;

export interface ChangeFeedOptions {
  /** No word from the stream for this long: the feed is lost until it speaks again. */
  silenceMs?: number;
  /** Pause before opening the stream again after an error (doubling up to ten times this). */
  retryMs?: number;
  /** Told of the feed's state changes, for a log line. */
  onState?: (state: 'live' | 'lost', detail: Record<string, unknown>) => void;
}

export class MongoChangeFeed implements ChangeFeed {
  private readonly listeners = new ChangeListeners('lost');
  private stream?: ChangeStream<Document>;
  private token?: ResumeToken;
  private stopped = false;
  private silence?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;
  private failures = 0;
  private readonly silenceMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly collection: Collection<Document>,
    private readonly options: ChangeFeedOptions = {},
  ) {
    this.silenceMs = options.silenceMs ?? 10_000;
    this.retryMs = options.retryMs ?? 1_000;
  }

  subscribe(listener: ChangeListener): () => void {
    return this.listeners.subscribe(listener);
  }

  get isLive(): boolean {
    return this.listeners.isLive;
  }

  /** Opens the stream; from its first answer the feed is live. */
  start(): void {
    this.stopped = false;
    this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.silence);
    clearTimeout(this.retry);
    const stream = this.stream;
    this.stream = undefined;
    this.setLost({ reason: 'stopped' });
    await stream?.close().catch(() => undefined);
  }

  private open(): void {
    if (this.stopped) return;
    // updateLookup: an update event carries the record's id, so only its copy is dropped, not every copy.
    const stream = this.collection.watch([], { fullDocument: 'updateLookup', ...(this.token ? { startAfter: this.token } : {}) });
    this.stream = stream;
    stream.on('resumeTokenChanged', (token: ResumeToken) => {
      this.token = token;
      this.heard();
    });
    stream.on('change', (event: ChangeStreamDocument<Document>) => this.onChange(event));
    stream.on('error', (error: unknown) => this.onError(stream, error));
    this.watchSilence();
  }

  private heard(): void {
    this.failures = 0;
    this.watchSilence();
    if (!this.listeners.isLive) {
      this.listeners.live();
      this.options.onState?.('live', {});
    }
  }

  private onChange(event: ChangeStreamDocument<Document>): void {
    this.token = event._id;
    if (event.operationType === 'invalidate') {
      // The collection was dropped or renamed: the stream ends here; reopen after this event, tell everything.
      this.listeners.changed();
      this.reopen(this.stream, { reason: 'invalidated' });
      return;
    }
    const doc = 'fullDocument' in event ? (event.fullDocument as { id?: unknown } | null | undefined) : undefined;
    this.listeners.changed(typeof doc?.id === 'string' ? doc.id : undefined);
    this.heard();
  }

  private onError(stream: ChangeStream<Document>, error: unknown): void {
    const code = (error as { code?: unknown }).code;
    if (code === CHANGE_STREAM_HISTORY_LOST || code === CHANGE_STREAM_FATAL) {
      // The point after the last change heard is gone from the oplog: changes in between are unknown.
      this.token = undefined;
      this.listeners.changed();
    }
    this.reopen(stream, { reason: 'error', error: (error as Error).message, code });
  }

  private reopen(stream: ChangeStream<Document> | undefined, detail: Record<string, unknown>): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    this.setLost(detail);
    stream?.close().catch(() => undefined);
    if (this.stopped) return;
    this.failures += 1;
    const pause = Math.min(this.retryMs * 2 ** (this.failures - 1), this.retryMs * 10);
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.open(), pause);
    this.retry.unref();
  }

  private watchSilence(): void {
    clearTimeout(this.silence);
    this.silence = setTimeout(() => this.setLost({ reason: `no word from the change stream for ${this.silenceMs} ms` }), this.silenceMs);
    this.silence.unref();
  }

  private setLost(detail: Record<string, unknown>): void {
    clearTimeout(this.silence);
    if (!this.listeners.isLive) return;
    this.listeners.lost();
    this.options.onState?.('lost', detail);
  }
}
