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
import { redactInto, redactString } from './redact';

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

// The line's own keys come first; a field of the same name never overwrites them.
const OWN_KEYS: ReadonlySet<string> = new Set(['time', 'level', 'msg']);

/** What a line is before its format: winston's `level` and `message`, and the fields kept apart (no copy into it). */
interface LineInfo {
  level: LogLevel;
  message: string;
  fields: LogFields | undefined;
  [MESSAGE]?: string;
}

// One winston format (the time stamped here rather than by a second one): `time`, `level`, `msg`, then the
// fields, redacted. The info object has one fixed shape, so the format costs a JSON.stringify and little more.
const line = winston.format((info) => {
  const { level, message, fields } = info as unknown as LineInfo;
  const time = now();
  const head = { time, level, msg: redactString(message) };
  let text: string;
  try {
    text = JSON.stringify(fields === undefined ? head : redactInto(head, fields, OWN_KEYS));
  } catch {
    text = JSON.stringify({ ...head, note: 'fields not serializable' });
  }
  (info as unknown as LineInfo)[MESSAGE] = text;
  return info;
})();

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
 * Writes formatted lines to a stream. To stdout, the lines of one turn of the event loop are gathered and
 * written together (under load one write carries the lines of many requests instead of one system call
 * each); what is left is written when the process exits, so no line is lost on the way out. To any other
 * stream (tests), each line is written at once.
 */
class LineTransport extends TransportStream {
  private pending: string[] = [];
  private scheduled = false;

  constructor(
    private readonly out: Writable,
    private readonly batched: boolean,
  ) {
    super();
    if (batched) process.once('exit', () => this.flush());
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    const text = info[MESSAGE] as string;
    if (!this.batched) {
      this.out.write(`${text}\n`);
    } else {
      this.pending.push(text);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    }
    callback();
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.out.write(text);
  }
}

const done = (): void => {};

export class WinstonLogger implements Logger {
  private readonly format = line;
  private readonly transport: LineTransport;
  private readonly threshold: number;

  /** Writes to stdout, or to `stream` when given (tests read what was logged, line by line as written). */
  constructor(level: LogLevel, stream?: Writable) {
    this.threshold = LEVELS[level];
    this.transport = stream ? new LineTransport(stream, false) : new LineTransport(process.stdout, true);
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
    const info: LineInfo = { level, message, fields, [MESSAGE]: undefined };
    this.format.transform(info as never);
    this.transport.log(info as never, done);
  }
}
