// A real-world permessage-deflate peer for Tether's core tests: a Node `ws` server (zlib underneath) on loopback
// that echoes every message. argv[2] is the JSON of ws's `perMessageDeflate` options. Prints "listening PORT".
'use strict';
const { WebSocketServer } = require('ws');

const options = JSON.parse(process.argv[2] || '{}');
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: options });
wss.on('connection', (ws, req) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => process.stdout.write(`listening ${wss.address().port}\n`));
process.stdin.on('end', () => process.exit(0)); // ends with the JVM that started it
process.stdin.resume();
