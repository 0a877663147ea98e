// The framework: Express 5 with one route answering the record's JSON from a constant. `node bare-express.js <port>`
const express = require('express');
const record = require('./record.json');
const app = express();
app.get('/integrations/:id', (_req, res) => {
  res.json(record);
});
app.listen(Number(process.argv[2]), '127.0.0.1');
