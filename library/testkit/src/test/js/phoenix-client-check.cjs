// Drives FakePhoenixServer with the official Phoenix JavaScript client (ws as the transport).
// Usage: node phoenix-client-check.cjs <endpoint>. Prints one line per step; the Kotlin test answers "READY".
const { Socket, Presence } = require("phoenix");
const WebSocket = require("ws");
const readline = require("readline");

const endpoint = process.argv[2];
const say = (line) => console.log(line);
const fail = (why) => { say("FAIL " + why); process.exit(1); };
setTimeout(() => fail("timed out"), 15000);

const socket = new Socket(endpoint, { transport: WebSocket, params: { token: "js-token" }, heartbeatIntervalMs: 1000 });
socket.onError((e) => say("socket-error " + (e && e.message)));
socket.connect();

const channel = socket.channel("room:js", { name: "node" });
const presence = new Presence(channel);
presence.onSync(() => say("presence " + presence.list((id) => id).sort().join(",")));
channel.on("shout", (payload) => {
  say("broadcast " + JSON.stringify(payload));
  channel.leave().receive("ok", () => { say("left"); socket.disconnect(() => process.exit(0)); });
});

channel.join()
  .receive("ok", (resp) => {
    say("joined " + JSON.stringify(resp));
    channel.push("echo", { n: 1 })
      .receive("ok", (reply) => {
        say("reply " + JSON.stringify(reply));
        channel.push("bin", new Uint8Array([1, 2, 3]).buffer)
          .receive("ok", (bin) => {
            say("binreply " + Array.from(new Uint8Array(bin)).join(","));
            channel.push("refuse", {}).receive("error", (e) => {
              say("error " + JSON.stringify(e));
              say("READY");
            });
          })
          .receive("error", (e) => fail("binary push error " + JSON.stringify(e)));
      })
      .receive("error", (e) => fail("push error " + JSON.stringify(e)));
  })
  .receive("error", (e) => fail("join error " + JSON.stringify(e)))
  .receive("timeout", () => fail("join timeout"));

readline.createInterface({ input: process.stdin }).on("line", () => {});
