// The MongoDB change feed's life, against a collection double whose streams the test drives: when it is live,
// how it opens again after the server ends the stream, after an error or a silence, what it tells while it
// cannot open, and that it opens one stream whatever start-up does.
import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import sinon from 'sinon';
import type { Collection, Document } from 'mongodb';
import type { ChangeListener } from '../../src/adapters/persistence/change-feed';
import { MongoChangeFeed, type ChangeFeedOptions } from '../../src/adapters/persistence/mongo/mongo-change-feed';

class StreamDouble extends EventEmitter {
  closed = false;
  constructor(readonly options: Document) {
    super();
  }
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.emit('close');
    }
    return Promise.resolve();
  }
  /** The server's answer with this resume token (the aggregate's, a getMore's). */
  answer(token: string): void {
    this.emit('resumeTokenChanged', { _data: token });
  }
}

function collectionDouble(): { collection: Collection<Document>; streams: StreamDouble[] } {
  const streams: StreamDouble[] = [];
  const collection = {
    watch: (_pipeline: Document[], options: Document) => {
      const stream = new StreamDouble(options);
      streams.push(stream);
      return stream;
    },
  } as unknown as Collection<Document>;
  return { collection, streams };
}

function listener(): ChangeListener & { states: string[] } {
  const states: string[] = [];
  return {
    states,
    changed: (id?: string) => states.push(`changed ${id ?? 'all'}`),
    live: () => states.push('live'),
    lost: () => states.push('lost'),
  };
}

describe('MongoChangeFeed', () => {
  let clock: sinon.SinonFakeTimers;
  let streams: StreamDouble[];
  let feed: MongoChangeFeed;
  let told: ReturnType<typeof listener>;
  let reopens: { attempt: number; pauseMs: number; reason: string }[];

  const startFeed = (options: ChangeFeedOptions = {}) => {
    const double = collectionDouble();
    streams = double.streams;
    reopens = [];
    feed = new MongoChangeFeed(double.collection, {
      retryMs: 100,
      silenceMs: 5_000,
      onReopen: (detail) => reopens.push(detail),
      ...options,
    });
    told = listener();
    feed.subscribe(told);
    feed.start();
  };

  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });

  afterEach(async () => {
    await feed.stop();
    clock.restore();
  });

  it('opened afresh, goes live only at its second answer, so a read made while it opened is not trusted', () => {
    startFeed();
    streams[0]!.answer('t1'); // the aggregate's answer
    expect(feed.health().live).to.equal(false);
    expect(told.states).to.deep.equal([]);
    streams[0]!.answer('t2'); // the first getMore's
    expect(feed.health()).to.deep.equal({ live: true });
    expect(told.states).to.deep.equal(['live']);
  });

  it('opens the stream again after its last token when the server ends it without an error', async () => {
    startFeed();
    streams[0]!.answer('t1');
    streams[0]!.answer('t2');
    streams[0]!.emit('close'); // the server closed the cursor
    await clock.tickAsync(0);
    expect(told.states).to.deep.equal(['live', 'lost']);
    expect(feed.health()).to.deep.include({ live: false, detail: 'the server ended the change stream' });
    await clock.tickAsync(100);
    expect(streams).to.have.length(2);
    expect(streams[1]!.options.startAfter).to.deep.equal({ _data: 't2' });
    streams[1]!.answer('t3'); // resumed after a token: no change can have been missed, live at once
    expect(told.states).to.deep.equal(['live', 'lost', 'live']);
    expect(reopens).to.deep.equal([{ attempt: 1, pauseMs: 100, reason: 'the server ended the change stream' }]);
  });

  it('tells each failure to open, with a pause that doubles up to ten times retryMs, and reports itself degraded', async () => {
    startFeed();
    for (let i = 0; i < 6; i += 1) {
      streams
        .at(-1)!
        .emit('error', Object.assign(new Error('not authorized on db to execute command aggregate'), { code: 13 }));
      await clock.tickAsync(reopens.at(-1)!.pauseMs);
    }
    expect(reopens.map((r) => r.pauseMs)).to.deep.equal([100, 200, 400, 800, 1_000, 1_000]);
    expect(streams).to.have.length(7);
    expect(feed.health()).to.deep.equal({
      live: false,
      detail: 'the change stream failed: not authorized on db to execute command aggregate',
    });
    streams.at(-1)!.answer('t1');
    streams.at(-1)!.answer('t2');
    expect(feed.health().live).to.equal(true);
  });

  it('opens the stream again when it falls silent', async () => {
    startFeed();
    streams[0]!.answer('t1');
    streams[0]!.answer('t2');
    await clock.tickAsync(5_000);
    expect(told.states).to.deep.equal(['live', 'lost']);
    expect(streams[0]!.closed).to.equal(true);
    await clock.tickAsync(100);
    expect(streams).to.have.length(2);
    expect(streams[1]!.options.startAfter).to.deep.equal({ _data: 't2' });
  });

  it('opens afresh and tells every cache when the point after its last token is gone from the oplog', async () => {
    startFeed();
    streams[0]!.answer('t1');
    streams[0]!.answer('t2');
    streams[0]!.emit('error', Object.assign(new Error('resume point no longer in the oplog'), { code: 286 }));
    expect(told.states).to.deep.equal(['live', 'changed all', 'lost']);
    await clock.tickAsync(100);
    expect(streams[1]!.options).to.not.have.property('startAfter');
    streams[1]!.answer('t9');
    expect(feed.health().live, 'opened afresh: not at its first answer').to.equal(false);
  });

  it('opens one stream whatever start-up calls start again', () => {
    startFeed();
    feed.start();
    feed.start();
    expect(streams).to.have.length(1);
  });
});
