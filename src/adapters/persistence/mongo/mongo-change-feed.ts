// The MongoDB change feed: a change stream on `integrations`, so every replica's cache hears of every change
// to the collection (this service's writes on any replica, the old Python store's during the move).
//
// Live from the stream's first answer when it resumes after a token (no change in between can be missed); from
// its second when it opens afresh (at start, after lost history, after invalidate): a write of another replica
// under way while the stream opened may be older than the stream's start and not yet readable at majority, so
// a read made then is not trusted past the TTL. Every empty getMore (about once a second) says the stream is
// alive, so one that stops answering is noticed and opened again. On an error, or when the server ends the stream
// without
// one, the feed is lost (caches expire by TTL meanwhile) and the stream opens again after a pause that doubles
// up to ten times `retryMs`, after the last token it saw; when the server no longer has that point in its oplog
// (ChangeStreamHistoryLost) or the collection was dropped or renamed (invalidate), it opens afresh and tells the
// caches that anything may have changed. Every failure to open is told (a log line, a metric) with its pause.
import type { ChangeStream, ChangeStreamDocument, Collection, Document, ResumeToken } from 'mongodb';
import { ChangeListeners, type ChangeFeed, type ChangeListener, type FeedHealth } from '../change-feed';

const CHANGE_STREAM_HISTORY_LOST = 286;
const CHANGE_STREAM_FATAL = 280;

export interface ChangeFeedOptions {
  /** No word from the stream for this long: the feed is lost until it speaks again. */
  silenceMs?: number;
  /** Pause before opening the stream again after an error (doubling up to ten times this). */
  retryMs?: number;
  /** Told of the feed's state changes, for a log line and a gauge. */
  onState?: (state: 'live' | 'lost', detail: Record<string, unknown>) => void;
  /** Told each time the stream is opened again after it ended or failed, with the pause before it. */
  onReopen?: (detail: { attempt: number; pauseMs: number; reason: string; error?: string; code?: unknown }) => void;
}

export class MongoChangeFeed implements ChangeFeed {
  private readonly listeners = new ChangeListeners('lost');
  private stream?: ChangeStream<Document>;
  private token?: ResumeToken;
  private started = false;
  private stopped = false;
  /** Answers the current stream must give before it is live: 1 after a token, 2 when opened afresh. */
  private answersToLive = 1;
  private lastLoss: string = 'not opened yet';
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

  /** What /readyz reports of the feed. */
  health(): FeedHealth {
    return this.listeners.isLive ? { live: true } : { live: false, detail: this.lastLoss };
  }

  /** This server has no change streams: the feed stays down, and says why. */
  unavailable(reason: string): void {
    this.lastLoss = reason;
  }

  /** Opens the stream, once per feed whatever start-up retries call it. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
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
    const stream = this.collection.watch([], {
      fullDocument: 'updateLookup',
      ...(this.token ? { startAfter: this.token } : {}),
    });
    this.answersToLive = this.token ? 1 : 2;
    this.stream = stream;
    stream.on('resumeTokenChanged', (token: ResumeToken) => {
      this.token = token;
      this.heard();
    });
    stream.on('change', (event: ChangeStreamDocument<Document>) => this.onChange(event));
    stream.on('error', (error: unknown) => this.onError(stream, error));
    // The server ended the stream without an error (its cursor closed): open it again after the last token.
    // The driver closes a cursor before it reports the error that closed it: an error told by then wins.
    stream.on('close', () => setImmediate(() => this.reopen(stream, { reason: 'the server ended the change stream' })));
    this.watchSilence();
  }

  private heard(): void {
    this.watchSilence();
    if (this.answersToLive > 0) this.answersToLive -= 1;
    if (this.answersToLive > 0 || this.listeners.isLive) return;
    this.failures = 0;
    this.listeners.live();
    this.options.onState?.('live', {});
  }

  private onChange(event: ChangeStreamDocument<Document>): void {
    this.token = event._id;
    if (event.operationType === 'invalidate') {
      // The collection was dropped or renamed: the stream ends here; reopen after this event, tell everything.
      this.listeners.changed();
      this.reopen(this.stream, { reason: 'the collection was dropped or renamed (invalidate)' });
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
    this.reopen(stream, { reason: 'the change stream failed', error: (error as Error).message, code });
  }

  private reopen(
    stream: ChangeStream<Document> | undefined,
    detail: { reason: string; error?: string; code?: unknown },
  ): void {
    if (stream !== this.stream || this.stopped) return;
    this.stream = undefined;
    this.setLost(detail);
    stream?.close().catch(() => undefined);
    this.failures += 1;
    const pauseMs = Math.min(this.retryMs * 2 ** (this.failures - 1), this.retryMs * 10);
    this.options.onReopen?.({ attempt: this.failures, pauseMs, ...detail });
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.open(), pauseMs);
    this.retry.unref();
  }

  private watchSilence(): void {
    clearTimeout(this.silence);
    const stream = this.stream;
    this.silence = setTimeout(
      () => this.reopen(stream, { reason: `no word from the change stream for ${this.silenceMs} ms` }),
      this.silenceMs,
    );
    this.silence.unref();
  }

  private setLost(detail: { reason: string; error?: string }): void {
    clearTimeout(this.silence);
    this.lastLoss = detail.error ? `${detail.reason}: ${detail.error}` : detail.reason;
    if (!this.listeners.isLive) return;
    this.listeners.lost();
    this.options.onState?.('lost', detail);
  }
}
