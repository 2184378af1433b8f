// The Phoenix push benchmark's reference client: phoenix.js (with ws as the transport), as its docs show.
// Usage: node bench.cjs <endpoint> <inFlight> <total> <warmup>. Joins room:bench, then keeps <inFlight> pushes
// outstanding ("echo", a small JSON payload) until <warmup> and then <total> replies have come; prints one RESULT line
// with pushes per second and CPU microseconds per push (process.cpuUsage, user + system) over the measured part.
const { Socket } = require("phoenix");
const WebSocket = require("ws");

const [endpoint, inFlightArg, totalArg, warmupArg] = process.argv.slice(2);
const inFlight = Number(inFlightArg), total = Number(totalArg), warmup = Number(warmupArg);
const socket = new Socket(endpoint, { transport: WebSocket, timeout: 60000, heartbeatIntervalMs: 30000 });
socket.connect();
const channel = socket.channel("room:bench", {});

function round(n, done) {
  let sent = 0, replied = 0;
  const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
  const next = () => {
    if (sent >= n) return;
    sent++;
    channel.push("echo", { n: sent, body: "0123456789abcdef0123456789abcdef" })
      .receive("ok", () => {
        replied++;
        if (replied === n) {
          const ns = Number(process.hrtime.bigint() - t0), c = process.cpuUsage(c0);
          done(n * 1e9 / ns, (c.user + c.system) / n);
        } else next();
      })
      .receive("error", (e) => { console.log("RESULT " + JSON.stringify({ error: JSON.stringify(e) })); process.exit(1); })
      .receive("timeout", () => { console.log("RESULT " + JSON.stringify({ error: "timeout" })); process.exit(1); });
  };
  for (let i = 0; i < Math.min(inFlight, n); i++) next();
}

channel.join().receive("ok", () => {
  round(warmup, () => round(total, (rate, cpu) => {
    console.log("RESULT " + JSON.stringify({ pushesPerSec: rate, cpuUsPerPush: cpu }));
    socket.disconnect(() => process.exit(0));
  }));
}).receive("error", (e) => { console.log("RESULT " + JSON.stringify({ error: "join " + JSON.stringify(e) })); process.exit(1); });
