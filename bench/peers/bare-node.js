// The floor: node:http answering the record's JSON from a constant. `node bare-node.js <port>`
const http = require('node:http');
const record = require('./record.json');
const body = Buffer.from(JSON.stringify(record));
http
  .createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
    res.end(body);
  })
  .listen(Number(process.argv[2]), '127.0.0.1');
