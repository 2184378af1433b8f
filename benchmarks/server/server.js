// The benchmark peer: one Node `ws` server on loopback, the same for every client library.
//   /echo     echoes every message (text as text, binary as binary)
//   /push     on a text message "push N", sends N 64-byte text messages as fast as the socket takes them
//   /idle     accepts and stays silent (answers pings: ws does that itself)
//   /echo-deflate  as /echo, but agrees to permessage-deflate and compresses every message (threshold 0, zlib level 6)
// A text message "restart" on /control drops every connection abruptly and stops listening for RESTART_MS,
// then listens again on the same port (a server crash and restart, for the fleet scenario).
// Prints "listening PORT" on stdout once ready. Port from argv[2] (0 = any free port).
// With BENCH_TLS_CERT and BENCH_TLS_KEY (PEM files) set, it also serves /idle over TLS (wss://) on another port, told
// first as "tls PORT" (the tls-open scenario: the cost of a TLS handshake on the client).
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const RESTART_MS = 1000;
const PUSH_MESSAGE = 'x'.repeat(64);
let port = Number(process.argv[2] || 0);
let server;
let wss;
let wssDeflate;

function start(onReady) {
  server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
  wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });
  wssDeflate = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024 * 1024,
    perMessageDeflate: { threshold: 0, zlibDeflateOptions: { level: 6 } },
  });
  server.on('upgrade', (req, socket, head) => {
    const target = req.url.split('?')[0] === '/echo-deflate' ? wssDeflate : wss;
    target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
  });
  wssDeflate.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  wss.on('connection', (ws, req) => {
    const path = req.url.split('?')[0];
    if (path === '/echo') {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    } else if (path === '/push') {
      ws.on('message', (data) => {
        const n = Number(String(data).split(' ')[1]);
        let sent = 0;
        const pump = () => {
          while (sent < n) {
            ws.send(PUSH_MESSAGE);
            sent++;
            if (ws.bufferedAmount > 1 << 20) { setImmediate(pump); return; }
          }
        };
        pump();
      });
    } else if (path === '/control') {
      ws.on('message', (data) => {
        if (String(data) === 'restart') restart();
      });
    }
  });
  server.listen(port, '127.0.0.1', () => {
    port = server.address().port;
    if (onReady) onReady();
  });
}

function restart() {
  for (const client of wss.clients) client.terminate();
  for (const client of wssDeflate.clients) client.terminate();
  wss.close();
  wssDeflate.close();
  server.close();
  server.closeAllConnections && server.closeAllConnections();
  setTimeout(() => start(() => process.stderr.write('restarted\n')), RESTART_MS);
}

function startTls(onReady) {
  const fs = require('fs');
  const https = require('https');
  const tls = https.createServer({ cert: fs.readFileSync(process.env.BENCH_TLS_CERT), key: fs.readFileSync(process.env.BENCH_TLS_KEY) });
  const wssTls = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  tls.on('upgrade', (req, socket, head) => wssTls.handleUpgrade(req, socket, head, (ws) => wssTls.emit('connection', ws, req)));
  tls.listen(0, '127.0.0.1', () => onReady(tls.address().port));
}

if (process.env.BENCH_TLS_CERT) {
  startTls((tlsPort) => {
    process.stdout.write(`tls ${tlsPort}\n`);
    start(() => process.stdout.write(`listening ${port}\n`));
  });
} else {
  start(() => process.stdout.write(`listening ${port}\n`));
}
