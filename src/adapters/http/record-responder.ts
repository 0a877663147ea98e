// Writes records to responses. An entity never changes, so its JSON and its headers (ETag, no-store, type, length)
// are made once per entity and shared by every response that sends it (the bot runtime reads one record on every
// message), written with the frame's in one writeHead.
import type { Integration } from '../../domain/integration.entity';
import { etagOf } from './etag';
import { writeAnswer, type HttpResponse } from './request-context';

interface Encoded {
  json: string;
  /** The headers of a 200 with this record, and of a 304 for it. */
  ok: readonly string[];
  notModified: readonly string[];
}

const JSON_TYPE = 'application/json; charset=utf-8';

export class RecordResponder {
  private readonly encoded = new WeakMap<Integration, Encoded>();

  sendRecord(res: HttpResponse, integration: Integration): void {
    const { json, ok } = this.encode(integration);
    writeAnswer(res, 200, ok, json);
  }

  sendNotModified(res: HttpResponse, integration: Integration): void {
    writeAnswer(res, 304, this.encode(integration).notModified);
  }

  sendList(res: HttpResponse, integrations: readonly Integration[]): void {
    const json = `[${integrations.map((integration) => this.encode(integration).json).join(',')}]`;
    writeAnswer(res, 200, bodyHeaders(json), json);
  }

  private encode(integration: Integration): Encoded {
    let encoded = this.encoded.get(integration);
    if (!encoded) {
      const json = JSON.stringify(integration.toPrimitives());
      const etag = etagOf(integration.version);
      encoded = { json, ok: ['ETag', etag, ...bodyHeaders(json)], notModified: ['ETag', etag, 'Cache-Control', 'no-store'] };
      this.encoded.set(integration, encoded);
    }
    return encoded;
  }
}

// Records carry credentials: no cache on the way may keep a copy (RFC 9111 no-store).
function bodyHeaders(json: string): string[] {
  return ['Cache-Control', 'no-store', 'Content-Type', JSON_TYPE, 'Content-Length', String(Buffer.byteLength(json))];
}
