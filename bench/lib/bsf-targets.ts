// Child process for the BSF benchmarks: `node dist/bench/lib/bsf-targets.js <kind> [n]`.
//   bare-get         a bare Fastify GET / route (the Ub baseline)
//   bare-post        a bare Fastify POST route that parses JSON and answers a Zn-sized JSON
//   stack N          HSS + BSF with N provisioned bench subscribers, logs silent
// Prints one JSON line with its URLs once listening; stops on SIGTERM.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { startBsf } from "../../nf/bsf/index.js";
import { defaultConfig } from "../../nf/common/config.js";
import type { RunningNf } from "../../nf/common/nf.js";
import { startHss } from "../../nf/hss/index.js";
import { request } from "undici";
import { benchSubscriber, hex } from "./bsf-ue.js";

const ZN_SIZED_ANSWER = {
  meKeyMaterial: "0".repeat(64),
  keyExpiryTime: "2030-01-01T00:00:00Z",
  bootstrappingInfoCreationTime: "2030-01-01T00:00:00Z",
  ussList: [
    {
      uss: {
        gsId: 1,
        gsType: 1,
        ueIds: [{ ueId: "sip:0010100000000001@ims.mnc001.mcc001.3gppnetwork.org" }],
        keyChoice: "ME_BASED_KEY",
      },
    },
  ],
  gbaType: "3G_GBA",
  impi: "0010100000000001@ims.mnc001.mcc001.3gppnetwork.org",
};

async function bare(kind: "bare-get" | "bare-post"): Promise<() => Promise<void>> {
  const app = Fastify({ logger: false });
  if (kind === "bare-get") app.get("/", async () => "ok");
  else
    app.post("/nbsp-gba/v1/bootstrapping-info-retrieval", async (req) => ({
      ...ZN_SIZED_ANSWER,
      impi: (req.body as { btId?: string }).btId,
    }));
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
  return () => app.close();
}

/** Bench subscribers 0..n-1 over the HSS provisioning API (one JSON import). */
async function provision(adminUrl: string, n: number): Promise<void> {
  const subs = Array.from({ length: n }, (_, i) => benchSubscriber(i)).map((s) => ({
    impi: s.impi,
    k: hex(s.k),
    opc: hex(s.opc),
  }));
  const r = await request(`${adminUrl}/subscribers/import`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(subs),
  });
  const text = await r.body.text();
  if (r.statusCode >= 300) throw new Error(`HSS import refused: ${r.statusCode} ${text}`);
}

async function stack(subscribers: number): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), "bench-bsf-"));
  const cfg = defaultConfig();
  cfg.data = dir;
  cfg.logLevel = "silent";
  for (const l of [cfg.hss.zh, cfg.hss.admin, cfg.bsf.ub, cfg.bsf.zn]) l.port = 0;
  const nfs: RunningNf[] = [];
  const hss = await startHss(cfg);
  nfs.push(hss);
  await provision(hss.urls.admin, subscribers);
  cfg.bsf.hssUrl = hss.urls.zh;
  const bsf = await startBsf(cfg);
  nfs.push(bsf);
  process.stdout.write(
    `${JSON.stringify({ hss: hss.urls.zh, ub: bsf.urls.ub, zn: bsf.urls.zn, fqdn: cfg.bsf.fqdn, znToken: cfg.bsf.nafs[0].token, nafFqdn: cfg.bsf.nafs[0].fqdns[0] })}\n`,
  );
  return async () => {
    for (const nf of nfs.reverse()) await nf.close();
    rmSync(dir, { recursive: true, force: true });
  };
}

async function main(): Promise<void> {
  const [kind, n] = process.argv.slice(2);
  let stop: () => Promise<void>;
  if (kind === "bare-get" || kind === "bare-post") stop = await bare(kind);
  else if (kind === "stack") stop = await stack(Number(n ?? 64));
  else throw new Error(`unknown target ${kind}`);
  process.once("SIGTERM", () => {
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bsf-targets: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
