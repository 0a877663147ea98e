// Writes records to responses. An entity never changes, so its JSON, its headers (ETag, no-store, type, length) and
// how its bytes go to the socket (framedBody) are worked out once per entity and shared by every response that
// sends it (the bot runtime reads one record on every message), written with the frame's in one writeHead.
import type { Integration } from '../../domain/integration.entity';
import { etagOf } from './etag';
import { JSON_TYPE, framedBody, writeAnswer, type BodyEncoding, type HttpResponse } from './request-context';

interface Encoded {
  json: string;
  encoding: BodyEncoding;
  /** The headers of a 200 with this record, and of a 304 for it. */
  ok: readonly string[];
  notModified: readonly string[];
}

export class RecordResponder {
  private readonly encoded = new WeakMap<Integration, Encoded>();

  sendRecord(res: HttpResponse, integration: Integration): void {
    const { json, ok, encoding } = this.encode(integration);
    writeAnswer(res, 200, ok, json, encoding);
  }

  sendNotModified(res: HttpResponse, integration: Integration): void {
    writeAnswer(res, 304, this.encode(integration).notModified);
  }

  sendList(res: HttpResponse, integrations: readonly Integration[]): void {
    const json = `[${integrations.map((integration) => this.encode(integration).json).join(',')}]`;
    const { headers, encoding } = jsonBody(json);
    writeAnswer(res, 200, headers, json, encoding);
  }

  private encode(integration: Integration): Encoded {
    let encoded = this.encoded.get(integration);
    if (!encoded) {
      const json = JSON.stringify(integration.toPrimitives());
      const { headers, encoding } = jsonBody(json);
      const etag = etagOf(integration.version);
      encoded = {
        json,
        encoding,
        ok: ['ETag', etag, ...headers],
        notModified: ['ETag', etag, 'Cache-Control', 'no-store'],
      };
      this.encoded.set(integration, encoded);
    }
    return encoded;
  }
}

/** A record's or the list's JSON: never kept by a cache on the way, framed (framedBody). */
function jsonBody(json: string): { headers: string[]; encoding: BodyEncoding } {
  const { headers, encoding } = framedBody(json, JSON_TYPE);
  // Records carry credentials: no cache on the way may keep a copy (RFC 9111 no-store).
  return { headers: ['Cache-Control', 'no-store', ...headers], encoding };
}
