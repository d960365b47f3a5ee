// `gba ue fetch` on a new user's first hour (issue 15 items 5 and 6): transport errors name the
// URL and the cause; an error starts its own line; the body flag cannot swallow a data root;
// TLS-PSK to an IP address needs --naf-fqdn, a refused PSK names the FQDN it was derived for,
// and no DEP0123 (an IP address as SNI). From dist/ against the scripted network of
// test/helpers/ue-fake-network.ts.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GbaMiddleware } from "../ue/middleware/gba-middleware.js";
import { GbaClient } from "../ue/ua/client.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { saveUsimStateFile } from "../ue/usim/state-file.js";
import { UsimClient } from "../ue/usim/usim-client.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { requireBuiltCli, runGba } from "./helpers/gba-cli.js";
import { close, FakeBsf, FakeNaf, IMSI, K, OPC, startFakeTlsPskNaf } from "./helpers/ue-fake-network.js";

const dir = mkdtempSync(join(tmpdir(), "ue-fetch-cli-"));
let files = 0;
const stops: Array<() => Promise<void>> = [];

const gba = (args: string[]) => runGba(args);

async function usimFile(): Promise<string> {
  const file = join(dir, `usim-${++files}.json`);
  await saveUsimStateFile(file, newUsimState({ k: K, opc: OPC, imsi: IMSI }), { exclusive: true });
  return file;
}

async function startBsf(): Promise<FakeBsf> {
  const bsf = new FakeBsf();
  await bsf.start();
  stops.push(() => bsf.stop());
  return bsf;
}

async function startNaf(bsf: FakeBsf, o: ConstructorParameters<typeof FakeNaf>[1] = {}): Promise<FakeNaf> {
  const naf = new FakeNaf(bsf, o);
  await naf.start();
  stops.push(() => naf.stop());
  return naf;
}

/** A loopback port nothing listens on (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(requireBuiltCli);
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("gba ue fetch: transport errors name the URL and the cause", () => {
  it("connection refused (HTTP Digest)", async () => {
    const bsf = await startBsf();
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/whoami`;
    const r = await gba(["ue", "fetch", url, "--bsf", bsf.url, "--usim", await usimFile(), "--naf-fqdn", "naf.example.org"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`gba ue fetch: cannot reach ${url}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });

  it("a host name that does not resolve", async () => {
    const bsf = await startBsf();
    const url = "http://naf.invalid/whoami";
    const r = await gba(["ue", "fetch", url, "--bsf", bsf.url, "--usim", await usimFile()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^gba ue fetch: cannot reach http:\/\/naf\.invalid\/whoami: getaddrinfo (ENOTFOUND|EAI_AGAIN) naf\.invalid\n$/,
    );
  });

  it("TLS to a server that does not speak it", async () => {
    const bsf = await startBsf();
    const naf = await startNaf(bsf);
    const url = `${naf.url.replace("http:", "https:")}/whoami`;
    const r = await gba(["ue", "fetch", url, "--bsf", bsf.url, "--usim", await usimFile(), "--naf-fqdn", "naf.example.org"]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")).toHaveLength(2);
    expect(r.stderr).toMatch(new RegExp(`^gba ue fetch: cannot reach ${url}: .*(wrong version number|packet length)`, "i"));
  });

  it("connection refused (TLS-PSK)", async () => {
    const bsf = await startBsf();
    const port = await closedPort();
    const url = `https://127.0.0.1:${port}/`;
    const r = await gba([
      "ue",
      "fetch",
      url,
      "--bsf",
      bsf.url,
      "--usim",
      await usimFile(),
      "--tls-psk",
      "--naf-fqdn",
      "naf.example.org",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`gba ue fetch: cannot reach ${url}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });
});

describe("gba ue fetch: the NAF's FQDN (TS 33.222 §5.3.0)", () => {
  it("a Digest URL with an IP address and no --naf-fqdn is refused before anything is sent", async () => {
    const bsf = await startBsf();
    const naf = await startNaf(bsf);
    const r = await gba(["ue", "fetch", `${naf.url}/x`, "--bsf", bsf.url, "--usim", await usimFile()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^gba ue fetch: the URL's host 127\.0\.0\.1 is an IP address, but the realm of the NAF's challenge must name the server contacted \(TS 33\.222 §5\.3\.0\): give --naf-fqdn NAME/,
    );
    expect(naf.seen).toEqual([]);
    expect(bsf.requests).toEqual([]);
  });
});

describe("gba ue fetch: output", () => {
  it("the error line starts a line of its own after a body without a final newline", async () => {
    const bsf = await startBsf();
    const naf = await startNaf(bsf, { forgetEveryBtid: true });
    const r = await gba([
      "ue",
      "fetch",
      `${naf.url}/x`,
      "--bsf",
      bsf.url,
      "--usim",
      await usimFile(),
      "--naf-fqdn",
      "naf.example.org",
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("bootstrapping required");
    expect(r.stderr).toBe("\ngba ue fetch: HTTP 401 Unauthorized\n");
  });
});

describe("gba ue fetch: the body flag", () => {
  it("--data (the data root everywhere else) is refused and nothing is sent", async () => {
    const bsf = await startBsf();
    const naf = await startNaf(bsf);
    const r = await gba(["ue", "fetch", `${naf.url}/svc`, "--bsf", bsf.url, "--usim", await usimFile(), "--data", ".gba-data"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^gba ue fetch: --data is the data root .* -d\/--body/);
    expect(naf.seen).toEqual([]);
    expect(bsf.requests).toEqual([]);
  });

  it("-d TEXT and --body @FILE are the body (POST by default)", async () => {
    const bsf = await startBsf();
    const naf = await startNaf(bsf);
    const usim = await usimFile();
    const fetchSvc = (...extra: string[]) =>
      gba(["ue", "fetch", `${naf.url}/svc`, "--bsf", bsf.url, "--usim", usim, "--naf-fqdn", "naf.example.org", ...extra]);
    const text = await fetchSvc("-d", "payload");
    expect(text.code, text.stderr).toBe(0);
    expect(JSON.parse(text.stdout)).toMatchObject({ method: "POST", body: "payload" });
    const file = join(dir, "body.txt");
    writeFileSync(file, "from a file");
    const fromFile = await fetchSvc("--body", `@${file}`, "-X", "PUT");
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ method: "PUT", body: "from a file" });
  });

  it("the help says so", async () => {
    const r = await gba(["ue", "fetch", "--help"]);
    expect(r.stdout).toMatch(/-d, --body TEXT\|@FILE/);
    expect(r.stdout).toMatch(/--data is the data root in every other gba command/);
  });
});

describe("gba ue fetch --tls-psk: NAF_Id", () => {
  /** A TLS-PSK NAF for naf.example.org and `gba ue fetch https://127.0.0.1:PORT/ --tls-psk ...extra`. */
  async function pskFetch(extra: string[]) {
    const bsf = await startBsf();
    const psk = await startFakeTlsPskNaf(bsf, { ciphers: "PSK-AES128-CBC-SHA" });
    stops.push(() => close(psk.server));
    const url = `https://127.0.0.1:${psk.port}/`;
    const r = await gba(["ue", "fetch", url, "--bsf", bsf.url, "--usim", await usimFile(), "--tls-psk", ...extra]);
    return { r, bsf, psk };
  }

  it("a URL with an IP address and no --naf-fqdn is refused before anything is sent", async () => {
    const { r, bsf, psk } = await pskFetch([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^gba ue fetch: --tls-psk: the URL's host 127\.0\.0\.1 is an IP address.*--naf-fqdn NAME/);
    expect(psk.identities).toEqual([]);
    expect(bsf.requests).toEqual([]);
  });

  it("a PSK the NAF refuses: the error names the FQDN it was derived for", async () => {
    const { r } = await pskFetch(["--psk-suite", "PSK-AES128-CBC-SHA", "--naf-fqdn", "wrong.example.org"]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")).toHaveLength(2);
    expect(r.stderr).toMatch(/derived for NAF FQDN wrong\.example\.org and Ua id 010001008c/);
    expect(r.stderr).toMatch(/--naf-fqdn/);
  });

  it("with --naf-fqdn it connects, without a DEP0123 warning", async () => {
    const { r } = await pskFetch(["--psk-suite", "PSK-AES128-CBC-SHA", "--naf-fqdn", "naf.example.org"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("the library sends no IP address as SNI (RFC 6066 §3), so node warns nothing", async () => {
    const bsf = await startBsf();
    const psk = await startFakeTlsPskNaf(bsf, { ciphers: "PSK-AES128-CBC-SHA", fqdn: "127.0.0.1" });
    stops.push(() => close(psk.server));
    const mw = await GbaMiddleware.open({
      usim: new UsimClient(new SimulatedUsim(newUsimState({ k: K, opc: OPC, imsi: IMSI }))),
      bsfUrl: bsf.url,
    });
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(w.code ?? w.message);
    process.on("warning", onWarning);
    try {
      const socket = await new GbaClient(mw).tlsPskConnect("127.0.0.1", psk.port, {
        nafFqdn: "127.0.0.1",
        suites: ["PSK-AES128-CBC-SHA"],
      });
      socket.destroy();
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off("warning", onWarning);
      await mw.powerDown();
    }
    expect(warnings).toEqual([]);
  });
});
