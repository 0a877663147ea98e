// The framework: Express 5 answering from constants, one route per shape the service is compared on:
// the record read, the list, and a whole-record PUT (body parsed by express.json(), the record answered with
// it). `node bare-express.js <port>`
const express = require('express');
const record = require('./record.json');
const records = [record, { ...record, id: 'chat_widget', name: 'Chat Widget', settings: { color: 'blue' } }];
const app = express();
app.get('/integrations/:id', (_req, res) => {
  res.json(record);
});
app.get('/admin/integrations/', (_req, res) => {
  res.json(records);
});
app.put('/admin/integrations/:id', express.json(), (req, res) => {
  res.json({ ...record, ...req.body, id: req.params.id });
});
app.listen(Number(process.argv[2]), '127.0.0.1');
