// HTTP written by hand on a TCP connection, for what HTTP clients will not do: trickle a body, hold a socket, send two
// Host headers or a target in absolute form, pipeline, send garbage.
import { connect, type Socket } from 'node:net';

/** A raw connection to the server at `url`: what it received so far, and when it closed (ms after it opened). */
export function rawConnection(
  url: string,
): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    let data = '';
    const started = Date.now();
    const socket = connect(Number(port), '127.0.0.1', () => resolve({ socket, received: () => data, closed }));
    const closed = new Promise<number>((done) => socket.on('close', () => done(Date.now() - started)));
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
  });
}

/** The whole answers in what a raw connection received, in order: each one's status and body. */
export function wholeAnswers(text: string): { status: number; body: string }[] {
  const answers: { status: number; body: string }[] = [];
  for (let rest = text; rest.length > 0; ) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end);
    const length = Number(/\r\nContent-Length: (\d+)/i.exec(head)?.[1] ?? 0);
    answers.push({ status: Number(head.slice(9, 12)), body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return answers;
}

/**
 * One request on a connection of its own: `head` (the request line and header lines, without the blank line), a JSON
 * `body` when given, `Connection: close`. What came back, and its last whole answer (after a `100 Continue`, say).
 */
export async function rawRequest(
  url: string,
  head: string,
  body = '',
): Promise<{ text: string; status: number; body: string }> {
  const { socket, received, closed } = await rawConnection(url);
  const framing = body === '' ? '' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  socket.end(`${head}\r\n${framing}Connection: close\r\n\r\n${body}`);
  await closed;
  const answers = wholeAnswers(received());
  return { text: received(), ...answers[answers.length - 1]! };
}
