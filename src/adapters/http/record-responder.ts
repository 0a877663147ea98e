// Writes records to responses. An entity never changes, so its JSON and its ETag are made once per
// entity and shared by every response that sends it (the bot runtime reads one record on every message).
import type { ServerResponse as Response } from 'node:http';
import type { Integration } from '../../domain/integration.entity';
import { etagOf } from './etag';

interface Encoded {
  json: string;
  bytes: number;
  etag: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export class RecordResponder {
  private readonly encoded = new WeakMap<Integration, Encoded>();

  sendRecord(res: Response, integration: Integration): void {
    const { json, bytes, etag } = this.encode(integration);
    res.statusCode = 200;
    res.setHeader('ETag', etag);
    this.send(res, json, bytes);
  }

  sendNotModified(res: Response, integration: Integration): void {
    res.statusCode = 304;
    res.setHeader('ETag', this.encode(integration).etag);
    res.setHeader('Cache-Control', 'no-store');
    res.end();
  }

  sendList(res: Response, integrations: readonly Integration[]): void {
    res.statusCode = 200;
    const json = `[${integrations.map((integration) => this.encode(integration).json).join(',')}]`;
    this.send(res, json, Buffer.byteLength(json));
  }

  // Records carry credentials: no cache on the way may keep a copy (RFC 9111 no-store). A string body
  // (not a Buffer) lets Node send headers and body in one write.
  private send(res: Response, json: string, bytes: number): void {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', JSON_TYPE);
    res.setHeader('Content-Length', bytes);
    res.end(json, 'utf8');
  }

  private encode(integration: Integration): Encoded {
    let encoded = this.encoded.get(integration);
    if (!encoded) {
      const json = JSON.stringify(integration.toPrimitives());
      encoded = { json, bytes: Buffer.byteLength(json), etag: etagOf(integration.version) };
      this.encoded.set(integration, encoded);
    }
    return encoded;
  }
}
