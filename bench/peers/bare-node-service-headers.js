// bare-node.js answering with the header lines of the service's own answer to the read (the bench reads them from
// the service and passes them in PEER_HEADERS), its request id made per answer as the service makes it: what
// those lines cost node:http alone. `PEER_HEADERS='[["Name","value"],…]' node bare-node-service-headers.js <port>`
const http = require('node:http');
const record = require('./record.json');
const body = Buffer.from(JSON.stringify(record));
const headers = [...JSON.parse(process.env.PEER_HEADERS).flat(), 'Content-Length', String(body.length)];
const requestId = headers.findIndex((name, i) => i % 2 === 0 && name.toLowerCase() === 'x-request-id') + 1;
let sequence = 0x1000_0000;
http
  .createServer((_req, res) => {
    sequence += 1;
    if (requestId > 0) headers[requestId] = ['0123abcd', sequence.toString(16)].join('-');
    res.writeHead(200, headers);
    res.end(body);
  })
  .listen(Number(process.argv[2]), '127.0.0.1');
