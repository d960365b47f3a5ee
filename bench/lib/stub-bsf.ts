// The Zn side the NAF and ECA benchmarks stand on: one bench subscriber whose bootstrap session
// a stub BSF knows (the NAF caches the Zn answer, so after warm-up the stub is idle), and the
// keys a UE holding that session derives.
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { makeBtid } from "../../gba/btid.js";
import { deriveKsNaf, nafId } from "../../gba/keys.js";
import { parseUaId } from "../../gba/ua-id.js";
import { bytesToHex } from "../../wire/bytes.js";
import { defaultConfig } from "../../nf/config.js";

export const BENCH_IMPI = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org";
export const BENCH_MSISDN = "15550000001";
const derive = (label: string, n: number) =>
  new Uint8Array(createHash("sha256").update(`naf-bench-${label}`).digest().subarray(0, n));
export const BENCH_KS = derive("ks", 32);
export const BENCH_RAND = derive("rand", 16);
export const BENCH_BTID = makeBtid(BENCH_RAND, defaultConfig().bsf.fqdn);

/** Ks_NAF of the bench subscriber for this NAF and Ua id (TS 33.220 B.3), as the BSF derives it. */
export function benchKsNaf(uaIdHex: string, fqdn: string): Uint8Array {
  return deriveKsNaf(BENCH_KS, BENCH_RAND, BENCH_IMPI, nafId(fqdn, parseUaId(uaIdHex)));
}

/** Zn tokens of the default configuration: the stub answers the default NAF and ECA. */
const TOKENS = new Set(defaultConfig().bsf.nafs.map((n) => `Bearer ${n.token}`));

/** Registers the stub's Zn route (TS 29.309 bootstrapping-info-retrieval) for the bench subscriber. */
export function registerStubZn(app: FastifyInstance): void {
  app.post("/nbsp-gba/v1/bootstrapping-info-retrieval", async (req, reply) => {
    const b = req.body as { btId?: string; nafId?: { nafFqdn?: string; uaSecProtId?: string } };
    if (!TOKENS.has(req.headers.authorization ?? "")) return reply.code(401).send({});
    if (b.btId !== BENCH_BTID) return reply.code(404).send({ status: 404, cause: "BTID_NOT_FOUND" });
    return {
      meKeyMaterial: bytesToHex(benchKsNaf(b.nafId?.uaSecProtId ?? "", b.nafId?.nafFqdn ?? "")),
      keyExpiryTime: new Date(Date.now() + 3600_000).toISOString(),
      ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: `sip:${BENCH_IMPI}` }, { ueId: `tel:+${BENCH_MSISDN}` }] } }],
      gbaType: "3G_GBA",
      impi: BENCH_IMPI,
    };
  });
}
