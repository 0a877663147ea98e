// bare-node.js, with the trick the service used until it was dropped for Node's back-pressure (docs/design.md):
// the answers of one event-loop turn are ended together, in one setImmediate. What batching alone is worth.
// `node bare-node-batched.js <port>`
const http = require('node:http');
const record = require('./record.json');
const body = Buffer.from(JSON.stringify(record));
let unsent = [];
const endTurn = () => {
  const turn = unsent;
  unsent = [];
  for (const res of turn) res.end(body);
};
http
  .createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
    if (unsent.push(res) === 1) setImmediate(endTurn);
  })
  .listen(Number(process.argv[2]), '127.0.0.1');
