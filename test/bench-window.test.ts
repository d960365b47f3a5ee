// A benchmark window lasts its seconds and, when no operation finished in them (a machine too
// busy, a slow subject), on until one did: a window with nothing done measures nothing, and a
// bench test must not fail because the machine was slow. An operation of two requests (a
// bootstrap: challenge, then answer) is the case: its second request would never go out.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runAutocannon } from "../bench/lib/load.js";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** A server answering GET /1 with 401 (the first answer after `firstMs`) and GET /2 with 200. */
async function twoStep(firstMs: number): Promise<string> {
  let first = true;
  server = createServer((req, res) => {
    if (req.url === "/2") return void res.end("ok");
    const wait = first ? firstMs : 0;
    first = false;
    setTimeout(() => res.writeHead(401).end(), wait);
  });
  await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const twoRequests = [
  { method: "GET" as const, path: "/1" },
  { method: "GET" as const, path: "/2" },
];
const classify = (status: number) => (status === 200 ? "ok" : status === 401 ? "step" : "error") as "ok" | "step" | "error";

describe("bench windows", () => {
  it("an operation of two requests still unfinished at the window's end is finished and counted", async () => {
    const url = await twoStep(2500);
    const s = await runAutocannon({ opts: { url, connections: 1, duration: 0.2, requests: twoRequests }, classify });
    expect(s.ok).toBeGreaterThanOrEqual(1);
    expect(s.errors.size).toBe(0);
    expect(s.seconds).toBeGreaterThanOrEqual(2.5);
  });

  it("a window in which operations finish ends at its time", async () => {
    const url = await twoStep(0);
    const s = await runAutocannon({ opts: { url, connections: 1, duration: 0.5, requests: twoRequests }, classify });
    expect(s.ok).toBeGreaterThan(1);
    // the extension would be 60 s
    expect(s.seconds).toBeLessThan(30);
  });
});
