// A dashboard page's side of the live stream, in its own process as a browser tab is:
//   node dist/bench/lib/stream-reader.js DASHBOARD_URL COUNTS_FILE
// It follows DASHBOARD_URL/api/stream with an EventSource (undici's, the WHATWG one a browser
// implements) and parses every "tick" message as the page does (dashboard/public/live.js), so
// the dashboard's process serves exactly what it serves a browser. It prints {"ready":true} on
// stdout at the first message and, on SIGTERM, writes {"messages","bytes"} to COUNTS_FILE.
import { writeFileSync } from "node:fs";
import { EventSource } from "undici";

const [url, countsFile] = process.argv.slice(2);
if (!url || !countsFile) {
  process.stderr.write("usage: stream-reader.js DASHBOARD_URL COUNTS_FILE\n");
  process.exit(2);
}

let messages = 0;
let bytes = 0;
const source = new EventSource(`${url}/api/stream`);
source.addEventListener("tick", (e) => {
  const data = String((e as { data?: unknown }).data);
  bytes += data.length;
  JSON.parse(data);
  if (messages++ === 0) process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
});
source.addEventListener("error", () => {
  if (source.readyState === EventSource.CLOSED) {
    process.stderr.write(`stream-reader: ${url}/api/stream closed\n`);
    process.exit(1);
  }
});
process.once("SIGTERM", () => {
  source.close();
  writeFileSync(countsFile, JSON.stringify({ messages, bytes }));
  process.exit(0);
});
