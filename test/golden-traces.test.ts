// Golden traces beside test/golden/bootstrap-trace.txt, each with every random source and clock
// pinned (test/helpers/golden.ts) and TS 35.208 test set 1 inputs, compared byte for byte:
//   resync-trace.txt     the USIM's SQN ahead: AUTS = SQN_MS ⊕ AK* ‖ MAC-S, the HSS resynchronises
//                        (TS 33.102 §6.3.5), the next challenge carries an SQN above SQN_MS
//   gba-u-trace.txt      GBA_U: AUTN* in the nonce, Ks_ext_NAF from the card, the TMPI from the
//                        card, EF_GBABP and EF_GBANL as the ME reads them back, Ks_int_NAF (card only)
//   ua-digest-trace.txt  Ua over HTTP Digest: POST with a body through the NAF proxy, the
//                        bootstrapping 401, auth-int over the request body, rspauth over the answer
//   zn-answer.txt        a Zn request and the BSF's answer body (TS 29.309 shape)
// Values the vectors pin (test/vectors/gba-keys.json) are checked on their own too. Regenerate
// after an intended change with UPDATE_GOLDEN=1 and review the diff.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { tmpiBsfId } from "../gba/btid.js";
import { nafId } from "../gba/keys.js";
import { UA_ID } from "../gba/ua-id.js";
import { bytesToHex } from "../wire/bytes.js";
import { akaInsightFromKeys } from "../ue/middleware/aka-insight.js";
import { GbaMiddleware } from "../ue/middleware/gba-middleware.js";
import { TextTracer } from "../ue/trace.js";
import { GbaClient } from "../ue/ua/client.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { UsimClient } from "../ue/usim/usim-client.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { clock, counterBytes, expectGolden, hssRandom, normalise, patchAmf, SQN_BEFORE } from "./helpers/golden.js";
import { IMPI, IMSI, K, OPC } from "./helpers/ue-fake-network.js";
import { type NetworkOptions, startNetwork } from "./helpers/ue-network.js";

/** test/vectors/gba-keys.json */
const VECTOR = {
  autnStar: "55f328b43577b9b98c7f3f0d723fb244",
  ksNafDigest: "ae9ecc3c7c17692c1d44d6d68d53a3b1624a706039753ba991e8293f3cfdec08",
  ksIntNafDigest: "0a1506dc49027e4932c767f73fde7d306ef97e37d805539f71182bb6c1b69fd2",
  tmpi: "NdfNQvvGWK4SGbs7c17alrZHQXyhEcrW@tmpi.bsf.3gppnetwork.org",
  btid: "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org",
};
/** the NAF FQDN of the vectors */
const VECTOR_NAF = "naf.example.com";

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

/** HSS, BSF and NAF with pinned deps; the subscriber of test set 1 at SQN_BEFORE with AMF b9b9; the NAF is naf.example.com. */
async function pinnedNetwork(o: { uiccType?: "GBA" | "GBA_U"; upstream?: string } = {}) {
  const options: NetworkOptions = {
    hssDeps: { clock, randomBytes: hssRandom() },
    bsfDeps: { clock, randomBytes: counterBytes(0xa0) },
    nafDeps: { clock, randomBytes: counterBytes(0xc0) },
    upstream: o.upstream,
    tweak: (cfg) => {
      cfg.hss.zhInd = 7;
      cfg.naf.fqdn = VECTOR_NAF;
      cfg.bsf.nafs[0].fqdns = [VECTOR_NAF];
    },
  };
  const n = await startNetwork(options);
  stops.push(() => n.close());
  const sqn = SQN_BEFORE.toString(16).padStart(12, "0");
  await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI, sqn, uiccType: o.uiccType });
  await patchAmf(n);
  return n;
}

/** The UE on a simulated test set 1 card, tracing with keys shown. */
async function pinnedUe(bsfUrl: string, card: { sqn?: number; gbaU?: boolean } = {}) {
  const usim = new SimulatedUsim(newUsimState({ k: K, opc: OPC, imsi: IMSI, sqn: card.sqn ?? SQN_BEFORE, gbaU: card.gbaU }));
  const lines: string[] = [];
  const mw = await GbaMiddleware.open({
    usim: new UsimClient(usim),
    bsfUrl,
    deps: { clock, randomBytes: counterBytes(0x10) },
    tracer: new TextTracer((l) => lines.push(l), { showKeys: true }),
    akaInsight: akaInsightFromKeys(K, OPC),
  });
  return { usim, mw, lines, trace: () => normalise(`${lines.join("\n")}\n`) };
}

/** The value of the first trace line `label:  value`. */
function traceValue(trace: string, label: string): string | undefined {
  return new RegExp(`^${label}:\\s+(\\S+)$`, "m").exec(trace)?.[1];
}

describe("golden traces (pinned RAND, SQN and clocks)", () => {
  it("resync: AUTS → MAC-S → SQN_MS, then a challenge above SQN_MS", async () => {
    const n = await pinnedNetwork();
    // the card has seen SQNs far ahead of the HSS (1000 steps of 32, IND 7)
    const ahead = SQN_BEFORE + 32 * 1000;
    const ue = await pinnedUe(n.bsf.urls.ub, { sqn: ahead });
    await ue.mw.bootstrap();
    await ue.mw.powerDown();
    const trace = ue.trace();
    expect(traceValue(trace, "SQN_MS")).toBe(ahead.toString(16).padStart(12, "0"));
    const sqns = [...trace.matchAll(/^SQN:\s+(\S+)$/gm)].map((m) => Number.parseInt(m[1], 16));
    expect(sqns).toHaveLength(2);
    expect(sqns[0]).toBeLessThan(ahead);
    expect(sqns[1]).toBeGreaterThan(ahead);
    expect(trace.match(/^AUTS:/gm)).toHaveLength(1);
    expectGolden("resync-trace.txt", trace);
  });

  it("GBA_U: AUTN*, Ks_ext_NAF and the TMPI from the card, EF_GBABP, EF_GBANL", async () => {
    const n = await pinnedNetwork({ uiccType: "GBA_U" });
    const ue = await pinnedUe(n.bsf.urls.ub, { gbaU: true });
    expect(ue.mw.mode).toBe("GBA_U");
    await ue.mw.bootstrap();
    await ue.mw.getKsNaf(VECTOR_NAF, UA_ID.HTTP_DIGEST);
    // what the ME reads back from the card
    const card = new UsimClient(ue.usim);
    const gbabp = await card.readGbabp();
    ue.lines.push(
      "EF_GBABP:",
      `  RAND:      ${bytesToHex(gbabp.rand)}`,
      `  B-TID:     ${gbabp.btid}`,
      `  lifetime:  ${gbabp.lifetime}`,
    );
    for (const r of await card.readGbanl()) {
      ue.lines.push(`EF_GBANL record ${r.record}:`, `  NAF_Id:    ${bytesToHex(r.nafId)}`, `  B-TID:     ${r.btid}`);
    }
    const ksIntNaf = ue.usim.debugKsIntNaf(nafId(VECTOR_NAF, UA_ID.HTTP_DIGEST));
    ue.lines.push(`Ks_int_NAF (stays on the card): ${ksIntNaf ? bytesToHex(ksIntNaf) : "none"}`);
    await ue.mw.powerDown();
    const trace = ue.trace();
    const nonce = /nonce="([^"]+)", algorithm/.exec(trace)?.[1] ?? "";
    expect(bytesToHex(Buffer.from(nonce, "base64").subarray(16))).toBe(VECTOR.autnStar);
    expect(traceValue(trace, "Ks_ext_NAF")).toBe(VECTOR.ksNafDigest);
    expect(traceValue(trace, "TMPI")).toBe(VECTOR.tmpi);
    expect(trace).toContain(`Ks_int_NAF (stays on the card): ${VECTOR.ksIntNafDigest}`);
    expect(trace).toContain(`  B-TID:     ${VECTOR.btid}`);
    expect(trace).toContain(`  NAF_Id:    ${bytesToHex(tmpiBsfId("bsf.mnc001.mcc001.pub.3gppnetwork.org"))}`);
    expectGolden("gba-u-trace.txt", trace);
  });

  it("Ua over HTTP Digest: a POST with a body, auth-int, rspauth over the answer's body", async () => {
    const upstream = await echoUpstream();
    const n = await pinnedNetwork({ upstream });
    const ue = await pinnedUe(n.bsf.urls.ub);
    const client = new GbaClient(ue.mw);
    stops.push(() => client.close());
    const res = await client.gbaFetch(`${n.naf.urls.http}/app/items?x=1`, {
      method: "POST",
      body: "hello naf",
      headers: { "content-type": "text/plain" },
      nafFqdn: VECTOR_NAF,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ method: "POST", url: "/app/items?x=1", body: "hello naf" });
    await ue.mw.powerDown();
    const trace = ue.trace();
    expect(trace).toMatch(/^authorization: Digest username="I1U8vpY3qJ0hiuZNrke\/NQ==@.*qop=auth-int/m);
    expect(trace).toMatch(/^authentication-info: .*rspauth="[0-9a-f]{32}"/m);
    expectGolden("ua-digest-trace.txt", trace);
  });

  it("Zn: the request of a NAF and the BSF's answer body", async () => {
    const n = await pinnedNetwork();
    const ue = await pinnedUe(n.bsf.urls.ub);
    const { btid } = await ue.mw.bootstrap();
    await ue.mw.powerDown();
    const path = "/nbsp-gba/v1/bootstrapping-info-retrieval";
    const body = JSON.stringify({ btId: btid, nafId: { nafFqdn: VECTOR_NAF, uaSecProtId: "0100000002" } });
    const res = await fetch(`${n.bsf.urls.zn}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${n.cfg.bsf.nafs[0].token}`, "content-type": "application/json" },
      body,
    });
    const answer = await res.text();
    const json = JSON.parse(answer) as { meKeyMaterial: string };
    expect(json.meKeyMaterial).toBe(VECTOR.ksNafDigest);
    const trace = [
      `POST ${path} HTTP/1.1`,
      "authorization: Bearer <naf token>",
      "content-type: application/json",
      "",
      body,
      "",
      `HTTP/1.1 ${res.status}`,
      `content-type: ${res.headers.get("content-type")}`,
      "",
      JSON.stringify(JSON.parse(answer), null, 2),
      "",
    ].join("\n");
    expectGolden("zn-answer.txt", trace);
  });
});

/** An application behind the NAF proxy: echoes method, URL, body and the asserted identity. */
async function echoUpstream(): Promise<string> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const out = JSON.stringify({
        method: req.method,
        url: req.url,
        body: Buffer.concat(chunks).toString("utf8"),
        identity: req.headers["x-3gpp-asserted-identity"] ?? null,
      });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
      res.end(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  stops.push(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
