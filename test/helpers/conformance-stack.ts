// What the conformance tests run the suites against: our own HSS, BSF and NAF (in this process,
// ephemeral ports, one subscriber and its simulated USIM in a card file), and deliberately broken
// doubles of them: a fault proxy in front of our BSF or NAF that changes one thing on the wire.
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { request } from "undici";
import { type NafConformanceOptions, runNafConformance, type SuiteReport } from "../../conformance/index.js";
import {
  akav1Password,
  type DigestCredentials,
  digestHa1,
  formatAuthenticationInfo,
  formatCredentials,
  parseAkaNonce,
  parseDigestCredentials,
  rspauthFromHa1,
  digestResponseFromHa1,
} from "../../gba/digest/index.js";
import { Milenage } from "../../milenage/milenage.js";
import type { GbaConfig } from "../../nf/config.js";
import { saveUsimStateFile } from "../../ue/usim/state-file.js";
import { newUsimState } from "../../ue/usim/usim-state.js";
import { NAF_FQDN } from "../naf-fixtures.js";
import { IMPI, IMSI, K, OPC } from "./ue-fake-network.js";
import { type Network, startNetwork } from "./ue-network.js";

export { NAF_FQDN } from "../naf-fixtures.js";
/** BSF_FQDN: the one a UE derives from IMSI 001 01 … (TS 23.003 §16.2), our BSF's default */
export { BSF_FQDN, IMPI, IMSI } from "./ue-fake-network.js";

export interface ConformanceStack {
  n: Network;
  /** a simulated USIM for the provisioned subscriber (fresh SQN array) */
  cardFile: string;
  bsfUrl: string;
  nafUrl: string;
  tlsPskUrl: string;
  close(): Promise<void>;
}

/** A new card file for the test subscriber (SQN 0), removed with the other temporary files of the process. */
export async function freshCard(o: { gbaU?: boolean } = {}): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), "conformance-card-")), "card.json");
  await saveUsimStateFile(file, newUsimState({ k: K, opc: OPC, imsi: IMSI, gbaU: o.gbaU }), { exclusive: true });
  return file;
}

export interface StackOptions {
  tweak?: (cfg: GbaConfig) => void;
  /** a GBA_U subscriber and card (uiccType GBA_U, service n°68) */
  gbaU?: boolean;
}

export async function startConformanceStack(o: StackOptions = {}): Promise<ConformanceStack> {
  const dir = mkdtempSync(join(tmpdir(), "conformance-"));
  const n = await startNetwork({ tweak: o.tweak });
  try {
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI, uiccType: o.gbaU ? "GBA_U" : "GBA" });
    const cardFile = join(dir, "card.json");
    await saveUsimStateFile(cardFile, newUsimState({ k: K, opc: OPC, imsi: IMSI, gbaU: o.gbaU }), { exclusive: true });
    return {
      n,
      cardFile,
      bsfUrl: n.bsf.urls.ub,
      nafUrl: `${n.naf.urls.http}/whoami`,
      tlsPskUrl: `${n.naf.urls.tlsPsk.replace(/^[a-z]+:/, "https:")}/whoami`,
      async close() {
        await n.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await n.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The NAF suite against a stack with every option given: its BSF, the NAF FQDN, its TLS-PSK listener. */
export function runFullNafSuite(stack: ConformanceStack, o: Partial<NafConformanceOptions> = {}): Promise<SuiteReport> {
  return runNafConformance({
    url: stack.nafUrl,
    bsfUrl: stack.bsfUrl,
    nafFqdn: NAF_FQDN,
    tlsPskUrl: stack.tlsPskUrl,
    card: { kind: "simulated", file: stack.cardFile },
    ...o,
  });
}

export interface ProxiedRequest {
  method: string;
  url: string;
  /** the Host header the client sent (not forwarded) */
  host?: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface ProxiedAnswer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface Fault {
  /** answer without forwarding (return an answer), or change the request before it goes on */
  request?(r: ProxiedRequest): ProxiedAnswer | undefined;
  /** change the target's answer before the client sees it */
  answer?(r: ProxiedRequest, a: ProxiedAnswer): ProxiedAnswer;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "host"]);

/** A Fastify server forwarding every request to `origin` through one fault. Returns its URL. */
export async function faultProxy(origin: string, fault: Fault): Promise<{ url: string; app: FastifyInstance }> {
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  app.route({
    method: ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
    url: "/*",
    handler: async (req, reply) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
      }
      const r: ProxiedRequest = {
        method: req.method,
        url: req.url,
        host: req.headers.host,
        headers,
        body: req.body instanceof Buffer ? new Uint8Array(req.body) : new Uint8Array(0),
      };
      let a = fault.request?.(r);
      if (a === undefined) {
        const res = await request(new URL(r.url, origin), {
          method: r.method as "GET",
          headers: r.headers,
          body: r.body.length > 0 ? Buffer.from(r.body) : undefined,
        });
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = Array.isArray(v) ? v.join(", ") : v;
        }
        a = { status: res.statusCode, headers: out, body: new Uint8Array(await res.body.arrayBuffer()) };
        if (fault.answer) a = fault.answer(r, a);
      }
      reply.code(a.status).headers(a.headers);
      return reply.send(Buffer.from(a.body));
    },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, app };
}

/** The Ub credentials of a proxied request, or undefined. */
export function ubCredentials(r: ProxiedRequest): DigestCredentials | undefined {
  const h = r.headers.authorization;
  return h === undefined ? undefined : parseDigestCredentials(h);
}

/** RES for the RAND of an AKA nonce: the double knows the subscriber's K and OPc, as its HSS does. */
function resFor(nonce: string): Uint8Array {
  return new Milenage(K, OPC).f2345(parseAkaNonce(nonce).rand).res;
}

/** H(A1) with the right RES as password (AKAv1-MD5, RFC 3310 §3.3). */
function rightHa1(c: DigestCredentials): string {
  const password = akav1Password(resFor(c.nonce));
  return digestHa1({ algorithm: "AKAv1-MD5", username: c.username, realm: c.realm, password, nonce: c.nonce });
}

/** The Ub request with the response the right RES gives (AKAv1-MD5, qop auth-int, GET of an empty body). */
export function withRightResponse(r: ProxiedRequest, c: DigestCredentials): ProxiedRequest {
  const ha1 = rightHa1(c);
  const response = digestResponseFromHa1(ha1, {
    algorithm: "AKAv1-MD5",
    nonce: c.nonce,
    nc: c.nc,
    cnonce: c.cnonce,
    qop: "auth-int",
    method: "GET",
    uri: c.uri,
    body: new Uint8Array(0),
  });
  const authorization = formatCredentials({
    username: c.username,
    realm: c.realm,
    nonce: c.nonce,
    uri: c.uri,
    response,
    algorithm: c.algorithm,
    qop: "auth-int",
    nc: c.nc,
    cnonce: c.cnonce,
    opaque: c.opaque,
  });
  return { ...r, headers: { ...r.headers, authorization } };
}

/**
 * A Ub 200 with its body changed and its Authentication-Info signed again over the new body, as
 * a BSF that wrote that body itself would sign it: one fault, not two.
 */
export function resigned200(r: ProxiedRequest, a: ProxiedAnswer, body: string): ProxiedAnswer {
  const c = ubCredentials(r);
  if (c === undefined) throw new Error("a 200 without credentials");
  const ha1 = rightHa1(c);
  const bytes = new TextEncoder().encode(body);
  const rspauth = rspauthFromHa1(ha1, {
    algorithm: "AKAv1-MD5",
    nonce: c.nonce,
    nc: c.nc,
    cnonce: c.cnonce,
    qop: "auth-int",
    uri: c.uri,
    responseBody: bytes,
  });
  const info = formatAuthenticationInfo({ qop: "auth-int", rspauth, cnonce: c.cnonce, nc: c.nc });
  return { ...a, headers: { ...a.headers, "authentication-info": info }, body: bytes };
}

export const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8");
