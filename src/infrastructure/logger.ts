// JSON logs with winston: one object per line on stdout, `time`, `level`, `msg` first, credentials redacted.
//
// Every line goes through winston's format (timestamp, then our JSON line with redaction) and out through a
// winston transport. What is configured away is winston's Logger stream: it pushes each line through a
// readable-stream Transform and a pipe, which under the bot runtime's load cost more per request than
// everything else the service does for a read (see README, Benchmarks). Levels are checked first, so a
// line below LOG_LEVEL costs nothing.
import type { Writable } from 'node:stream';
import { MESSAGE } from 'triple-beam';
import winston from 'winston';
import TransportStream from 'winston-transport';
import type { LogFields, Logger } from '../application/logger.port';
import type { LogLevel } from './config';
import { REDACTED, isSecretKey, redact, redactString, redactedJson } from './redact';

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** What the format needs of a field's name, worked out once per name (names are the code's own; bounded anyway). */
interface Key {
  /** `time`, `level`, `msg`: the line's own keys come first, and a field of the same name never overwrites them. */
  own: boolean;
  /** Its value is never written (redact.ts). */
  secret: boolean;
  /** `,"name":` */
  prefix: string;
  /** The last string written under this name, and its JSON: a method, a route, a path repeat line after line. */
  lastString: string | undefined;
  lastJson: string;
}
const keys = new Map<string, Key>();
function keyOf(name: string): Key {
  let key = keys.get(name);
  if (key === undefined) {
    key = { own: name === 'time' || name === 'level' || name === 'msg', secret: isSecretKey(name), prefix: `,${JSON.stringify(name)}:`, lastString: undefined, lastJson: '' };
    if (keys.size < 1_000) keys.set(name, key);
  }
  return key;
}

function fieldJson(key: Key, value: unknown): string | undefined {
  if (key.secret) return REDACTED_JSON;
  if (typeof value !== 'string') return jsonValue(value);
  if (value !== key.lastString) {
    key.lastJson = redactedJson(value);
    key.lastString = value;
  }
  return key.lastJson;
}
const REDACTED_JSON = JSON.stringify(REDACTED);

/** What a line is before its format: winston's `level` and `message`, and the fields kept apart (no copy into it). */
class LineInfo {
  [MESSAGE]: string | undefined = undefined;

  constructor(
    readonly level: LogLevel,
    readonly message: string,
    readonly fields: LogFields | undefined,
  ) {}
}

// One winston format (the time stamped here rather than by a second one): `time`, `level`, `msg`, then the
// fields, redacted, written as JSON field by field: a string of printable ASCII with no quote, backslash or hint
// of a secret (ids, routes, paths) is quoted as it is, after one scan; anything else goes through redaction and
// JSON.stringify. The same text JSON.stringify makes of the whole redacted line, in a fraction of its time.
const line = winston.format((info) => {
  const { level, message, fields } = info as unknown as LineInfo;
  let text = headOf(level, message);
  try {
    if (fields !== undefined) {
      for (const name of Object.keys(fields)) {
        const key = keyOf(name);
        if (key.own) continue;
        const value = fieldJson(key, fields[name]);
        if (value !== undefined) text += key.prefix + value;
      }
    }
    text += '}';
  } catch {
    text = JSON.stringify({ time: now(), level, msg: redactString(message), note: 'fields not serializable' });
  }
  (info as unknown as LineInfo)[MESSAGE] = text;
  return info;
})();

// A line's `time`, `level` and `msg`: the same for the lines written in one millisecond with one message (request
// after request), so the last is remembered.
let lastHead = { time: '', level: '', message: '', text: '' };
function headOf(level: LogLevel, message: string): string {
  const time = now();
  if (time !== lastHead.time || level !== lastHead.level || message !== lastHead.message) {
    lastHead = { time, level, message, text: `{"time":"${time}","level":"${level}","msg":${redactedJson(message)}` };
  }
  return lastHead.text;
}

/**
 * A value other than a string (fieldJson writes those, remembered per name), redacted, as JSON.stringify writes it
 * inside an object; undefined when it leaves the key out.
 */
function jsonValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'number':
      return numberJson(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      return JSON.stringify(redact(value, 1));
  }
}

/**
 * A number as JSON.stringify writes it. An integer, or a number of at most three decimals under ~2 million (every
 * request's `durationMs`), is written from integers: the same text (tested) without V8's general conversion of a
 * fraction to text, which took ~230 ns a line where this takes ~40.
 */
export function numberJson(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const thousandths = Math.round(value * 1000);
  // Below 2^31 thousandths, numbers three decimals apart are far more than one double apart: the decimal written
  // here is the shortest that reads back as this number, which is what String() writes.
  if (thousandths / 1000 !== value || thousandths >= 2 ** 31 || thousandths <= -(2 ** 31)) return Number.isFinite(value) ? String(value) : 'null';
  const size = Math.abs(thousandths);
  const fraction = size % 1000;
  const digits = fraction % 100 === 0 ? String(fraction / 100) : fraction % 10 === 0 ? `${fraction < 100 ? '0' : ''}${fraction / 10}` : `${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}`;
  return `${thousandths < 0 ? '-' : ''}${(size - fraction) / 1000}.${digits}`;
}

// The ISO time of this millisecond, made once per millisecond rather than once per line.
let lastMs = 0;
let lastIso = '';
function now(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * Writes formatted lines to a stream. To stdout, each line is copied at once into a buffer outside the JavaScript
 * heap, and the buffer is written when FLUSH_MS have passed since its first line or when it is full: under load
 * one write carries the lines of hundreds of requests instead of a system call every few, and no line waits as a
 * string on the heap (which every garbage collection of the young generation would copy). What is left is written
 * when the process exits, so no line is lost on the way out (a SIGKILL loses at most the last FLUSH_MS). To any
 * other stream (tests), each line is written at once.
 */
const FLUSH_MS = 20;
const BUFFER_BYTES = 64 * 1024;

class LineTransport extends TransportStream {
  private buffer: Buffer;
  private used = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: Writable,
    private readonly batched: boolean,
  ) {
    super();
    // Only a batching transport holds a buffer; one writing line by line (tests) never uses it.
    this.buffer = Buffer.allocUnsafe(batched ? BUFFER_BYTES : 0);
    if (batched) process.once('exit', () => this.flush());
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    const text = info[MESSAGE] as string;
    // At most three bytes of UTF-8 per UTF-16 unit, and the newline.
    const most = text.length * 3 + 1;
    if (!this.batched) {
      this.out.write(`${text}\n`);
    } else if (most > BUFFER_BYTES) {
      // Longer than a buffer: after the lines before it, on its own.
      this.flush();
      this.out.write(`${text}\n`);
    } else {
      if (this.used + most > BUFFER_BYTES) this.flush();
      this.used += this.buffer.write(text, this.used);
      this.buffer[this.used++] = 0x0a;
      this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
    }
    callback();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.used === 0) return;
    // The stream may hold the chunk until it is written: the next lines go to a new buffer.
    const chunk = this.buffer.subarray(0, this.used);
    this.buffer = Buffer.allocUnsafe(BUFFER_BYTES);
    this.used = 0;
    this.out.write(chunk);
  }
}

const done = (): void => {};

export class WinstonLogger implements Logger {
  private readonly format = line;
  private readonly transport: LineTransport;
  private readonly threshold: number;

  /**
   * Writes to stdout, lines gathered as LineTransport says, or to `stream` when given (tests read what was logged),
   * line by line as written unless `batched`.
   */
  constructor(level: LogLevel, stream?: Writable, batched = stream === undefined) {
    this.threshold = LEVELS[level];
    this.transport = new LineTransport(stream ?? process.stdout, batched);
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }

  private log(level: LogLevel, message: string, fields?: LogFields): void {
    if (LEVELS[level] > this.threshold) return;
    const info = new LineInfo(level, message, fields);
    this.format.transform(info as never);
    this.transport.log(info as never, done);
  }
}
