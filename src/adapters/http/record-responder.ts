// Writes records to responses. An entity never changes, so its JSON and its ETag are made once per
// entity and shared by every response that sends it (the bot runtime reads one record on every message).
import type { Response } from 'express';
import type { Integration } from '../../domain/integration.entity';
import { etagOf } from './etag';

interface Encoded {
  json: string;
  body: Buffer;
  etag: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export class RecordResponder {
  private readonly encoded = new WeakMap<Integration, Encoded>();

  sendRecord(res: Response, integration: Integration): void {
    const { body, etag } = this.encode(integration);
    res.status(200);
    res.setHeader('ETag', etag);
    this.send(res, body);
  }

  sendNotModified(res: Response, integration: Integration): void {
    res.status(304);
    res.setHeader('ETag', this.encode(integration).etag);
    res.setHeader('Cache-Control', 'no-store');
    res.end();
  }

  sendList(res: Response, integrations: readonly Integration[]): void {
    res.status(200);
    this.send(res, Buffer.from(`[${integrations.map((integration) => this.encode(integration).json).join(',')}]`));
  }

  // Records carry credentials: no cache on the way may keep a copy (RFC 9111 no-store).
  private send(res: Response, body: Buffer): void {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', JSON_TYPE);
    res.setHeader('Content-Length', body.length);
    res.end(body);
  }

  private encode(integration: Integration): Encoded {
    let encoded = this.encoded.get(integration);
    if (!encoded) {
      const json = JSON.stringify(integration.toPrimitives());
      encoded = { json, body: Buffer.from(json), etag: etagOf(integration.version) };
      this.encoded.set(integration, encoded);
    }
    return encoded;
  }
}
