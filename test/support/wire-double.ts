// A test double that speaks the MongoDB wire protocol (OP_QUERY/OP_REPLY and OP_MSG) on a TCP port and
// answers each command from a script, with replies built with the `bson` package. It is not MongoDB and
// implements none of it: it lets the real driver meet a server that is too old, refuses credentials, or
// keeps failing, on a machine where no MongoDB can run.
import { createServer, type Server, type Socket } from 'node:net';
import { Long, ObjectId, deserialize, serialize, type Document } from 'bson';
import { MIGRATIONS } from '../../src/adapters/persistence/mongo/mongo-migrations';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

/**
 * Answers one command (the first key of the document names it); undefined closes the connection. A promise
 * holds the reply back until it settles, so replies on different connections can arrive in any order.
 */
export type Script = (command: string, document: Document) => Document | undefined | Promise<Document | undefined>;

export interface WireDouble {
  uri: string;
  /** Every command received, in order, by name. */
  received: string[];
  /** Every command received, in order, whole. */
  documents: Document[];
  setScript(script: Script): void;
  close(): Promise<void>;
}

/** A hello reply for a server of `maxWireVersion` (8 is MongoDB 4.2, 9 is 4.4, 21 is 7.0); `helloOk: false` as before
 * 4.4.2. */
export function helloReply(maxWireVersion: number, { helloOk = true }: { helloOk?: boolean } = {}): Document {
  return {
    ...(helloOk ? { helloOk: true } : {}),
    ismaster: true,
    isWritablePrimary: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: 1,
    minWireVersion: 0,
    maxWireVersion,
    readOnly: false,
    ok: 1,
  };
}

export async function startWireDouble(script: Script): Promise<WireDouble> {
  let current = script;
  const received: string[] = [];
  const documents: Document[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 16 && buffered.length >= buffered.readInt32LE(0)) {
        const length = buffered.readInt32LE(0);
        const message = buffered.subarray(0, length);
        buffered = buffered.subarray(length);
        const requestId = message.readInt32LE(4);
        const opCode = message.readInt32LE(12);
        const { document, reply } = parse(opCode, message);
        const command = Object.keys(document)[0] ?? '';
        received.push(command);
        documents.push(document);
        const send = (answer: Document | undefined): void => {
          if (answer === undefined) socket.destroy();
          else socket.write(reply(requestId, answer));
        };
        const answer = current(command, document);
        if (answer instanceof Promise) void answer.then(send, () => socket.destroy());
        else send(answer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    uri: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    received,
    documents,
    setScript: (next) => {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function parse(
  opCode: number,
  message: Buffer,
): { document: Document; reply: (requestId: number, answer: Document) => Buffer } {
  if (opCode === OP_QUERY) {
    // flags (4), full collection name (cstring), skip (4), return (4), query document
    let offset = 20;
    while (message[offset] !== 0) offset += 1;
    offset += 1 + 8;
    const document = deserialize(message.subarray(offset, offset + message.readInt32LE(offset)));
    return { document, reply: opReply };
  }
  if (opCode === OP_MSG) {
    // flag bits (4), then sections; the body is the kind-0 section
    let offset = 20;
    let document: Document = {};
    while (offset < message.length) {
      const kind = message[offset];
      offset += 1;
      if (kind === 0) {
        const size = message.readInt32LE(offset);
        document = deserialize(message.subarray(offset, offset + size));
        offset += size;
      } else {
        offset += message.readInt32LE(offset);
      }
      if (message.readUInt32LE(16) & 1 && message.length - offset === 4) break; // checksum
    }
    return { document, reply: opMsg };
  }
  throw new Error(`the wire double does not speak opCode ${opCode}`);
}

/** A hello reply of the primary of replica set `rs0` whose only member is `host`. */
export function replicaSetPrimaryHello(host: string): Document {
  return {
    ...helloReply(21),
    setName: 'rs0',
    setVersion: 1,
    hosts: [host],
    primary: host,
    me: host,
    electionId: new ObjectId('7fffffff0000000000000001'),
  };
}

/**
 * The integrations change stream of a live server: opened with no change, then each getMore of it answered after a
 * pause, empty, as a server's awaitData does. Undefined for any other command (another aggregate, another cursor).
 */
export function liveChangeStream(command: string, document: Document): Document | Promise<Document> | undefined {
  const cursor = (batch: 'firstBatch' | 'nextBatch', token: string) => ({
    ok: 1,
    cursor: {
      id: Long.fromNumber(STREAM_CURSOR),
      ns: 'db.integrations',
      [batch]: [],
      postBatchResumeToken: { _data: token },
    },
  });
  if (command === 'aggregate' && (document.pipeline as Document[] | undefined)?.[0]?.$changeStream !== undefined)
    return cursor('firstBatch', 'a1');
  if (command === 'getMore' && Number(document.getMore) === STREAM_CURSOR)
    return new Promise((resolve) => setTimeout(() => resolve(cursor('nextBatch', 'a2')), 100));
  return undefined;
}
const STREAM_CURSOR = 7;

/** A cursor's first and only batch, as a find, listIndexes or aggregate answers it. */
export function cursorReply(ns: string, firstBatch: Document[]): Document {
  return { ok: 1, cursor: { id: Long.fromNumber(0), ns, firstBatch } };
}

function header(length: number, responseTo: number, opCode: number): Buffer {
  const buffer = Buffer.alloc(16);
  buffer.writeInt32LE(length, 0);
  buffer.writeInt32LE(Math.floor(Math.random() * 2 ** 30), 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
  return buffer;
}

function opReply(requestId: number, answer: Document): Buffer {
  const body = Buffer.from(serialize(answer));
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(8, 0); // AwaitCapable
  fields.writeBigInt64LE(0n, 4); // cursor id
  fields.writeInt32LE(0, 12); // starting from
  fields.writeInt32LE(1, 16); // number returned
  return Buffer.concat([header(16 + 20 + body.length, requestId, OP_REPLY), fields, body]);
}

function opMsg(requestId: number, answer: Document): Buffer {
  const body = Buffer.from(serialize(answer));
  const flags = Buffer.alloc(5); // flag bits 0, then section kind 0
  return Buffer.concat([header(16 + 5 + body.length, requestId, OP_MSG), flags, body]);
}

/**
 * A store of the two default records that applies the service's conditional updates ($set at a version) and
 * answers finds from what it holds: enough for PATCHes whose replies the test holds back (`hold`). `hello`
 * answers the handshake (a standalone, or a replica set's primary).
 */
export function statefulStore(
  hello: () => Document,
  hold: (update: Document) => Promise<void> | undefined = () => undefined,
) {
  const at = new Date(0);
  const base = {
    name: 'Facebook Messenger',
    description: 'd',
    status: false,
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
  const records: Document[] = [
    { _id: 1, id: 'chat_widget', ...base, name: 'Chat Widget', settings: {} },
    { _id: 2, id: 'facebook', ...base, settings: { verify: 'v', secret: '', page_access_token: '' } },
  ];
  const script: Script = (command, document) => {
    if (['hello', 'isMaster', 'ismaster'].includes(command)) return hello();
    if (command === 'findAndModify') {
      // The migrations' lease: granted to whoever asks (its owner is the uuid in the update).
      const owner = JSON.stringify(document.update).match(
        /"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"/,
      )?.[1];
      return {
        ok: 1,
        value: { _id: '__lease__', owner, expiresAt: new Date(Date.now() + 60_000), checkedAt: new Date() },
      };
    }
    if (command === 'listIndexes')
      return cursorReply('db.integrations', [
        { v: 2, key: { _id: 1 }, name: '_id_' },
        { v: 2, key: { id: 1 }, name: 'integrations_id_unique', unique: true },
      ]);
    if (command === 'find' && document.find === 'schema_migrations')
      return cursorReply(
        'db.schema_migrations',
        MIGRATIONS.map((m) => ({ _id: m.name })),
      );
    if (command === 'find') {
      const id = (document.filter as { id?: { $eq?: string } }).id?.$eq;
      return cursorReply(
        'db.integrations',
        records.filter((record) => id === undefined || record.id === id),
      );
    }
    if (command === 'update') {
      const [{ q, u, upsert }] = document.updates as { q: Document; u: Document; upsert?: boolean }[];
      if (upsert) return { ok: 1, n: 1, nModified: 0 };
      const versions: unknown[] = q.version?.$in ?? [q.version?.$eq];
      const record = records.find((r) => r.id === q.id.$eq && versions.includes(r.version));
      if (record) Object.assign(record, u.$set);
      const reply = { ok: 1, n: record ? 1 : 0, nModified: record ? 1 : 0 };
      const held = record ? hold(document) : undefined;
      return held ? held.then(() => reply) : reply;
    }
    return { ok: 1 };
  };
  return { records, script };
}
