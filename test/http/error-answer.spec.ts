// An error met after a response's headers went out can no longer be answered as a problem: the one error
// answer (Express's last middleware and the direct read alike) logs it and cuts the response, so the client
// sees a broken answer, never a well-formed one that is wrong; an answer already written whole goes out first.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { answerErrors } from '../../src/adapters/http/problem';
import { RequestLocals, writeAnswer, type HttpResponse } from '../../src/adapters/http/request-context';

describe('the error answer', () => {
  let server: Server;
  const logged: { msg: string; fields: Record<string, unknown> }[] = [];
  const answer = answerErrors({
    error: (msg, fields = {}) => logged.push({ msg, fields }),
    warn() {},
    info() {},
    debug() {},
  });

  before(async () => {
    server = createServer((req, plain) => {
      const res = plain as HttpResponse;
      res.locals = Object.assign(new RequestLocals(), { requestId: 'late-1' });
      if (req.url === '/late') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
        res.write('{"partial":');
      }
      // A whole answer written (its body waiting for the end of the turn), then an error.
      if (req.url === '/written')
        writeAnswer(res, 200, ['Content-Type', 'application/json', 'Content-Length', '11'], '{"whole":1}');
      answer(new Error('failed half-way'), req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  after(() => new Promise((resolve) => server.close(resolve)));

  const get = (path: string): Promise<{ status: number; body: string } | Error> =>
    new Promise((resolve) => {
      const { port } = server.address() as AddressInfo;
      const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', resolve);
      });
      req.on('error', resolve);
      req.end();
    });

  it('answers a 500 problem while nothing was sent yet', async () => {
    const answered = await get('/early');
    expect(answered).to.not.be.instanceOf(Error);
    expect((answered as { status: number }).status).to.equal(500);
  });

  it('cuts the response and logs the error when the headers already went out', async () => {
    logged.length = 0;
    const answered = await get('/late');
    expect(answered, 'the client must not receive a complete answer').to.be.instanceOf(Error);
    expect(logged).to.have.length(1);
    expect(logged[0]!.msg).to.equal('error after the answer began');
    expect(logged[0]!.fields).to.include({ requestId: 'late-1' });
    expect(logged[0]!.fields.err).to.include({ message: 'failed half-way' });
  });

  it('sends an answer written whole before the error, then cuts the connection and logs the error', async () => {
    logged.length = 0;
    const answered = await get('/written');
    expect(answered).to.deep.equal({ status: 200, body: '{"whole":1}' });
    expect(logged.map((line) => line.msg)).to.deep.equal(['error after the answer began']);
  });
});
