// Helpers of the ECA tests: openssl as the independent client and verifier (key pairs, CSRs,
// checks on issued certificates; a missing openssl fails the tests), and an OBU's Ua Digest
// enrolment built from gba/ primitives (TS 24.109 §5.2, Annex E).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import {
  digestResponse,
  formatCredentials,
  ksNafPassword,
  parseAuthenticationInfo,
  parseDigestChallenge,
  rspauth,
} from "../gba/digest/index.js";
import { deriveKsNaf, nafId } from "../gba/keys.js";
import { UA_ID, type UaId } from "../gba/ua-id.js";

export const OPENSSL = process.env.OPENSSL ?? "openssl";

export function openssl(args: string[], input?: Uint8Array | string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(OPENSSL, args, { input, encoding: "buffer" });
  if (r.error) throw new Error(`cannot run ${OPENSSL}: ${r.error.message}`);
  return { code: r.status ?? -1, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

function ok(args: string[], input?: Uint8Array | string): string {
  const r = openssl(args, input);
  if (r.code !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

export class OpensslDir {
  readonly dir = mkdtempSync(join(tmpdir(), "eca-openssl-"));

  path(name: string): string {
    return join(this.dir, name);
  }

  /** `openssl ecparam -genkey` on P-256 (or another curve), PEM key file. */
  ecKey(name: string, curve = "prime256v1"): string {
    const file = this.path(name);
    ok(["ecparam", "-name", curve, "-genkey", "-noout", "-out", file]);
    return file;
  }

  rsaKey(name: string, bits: number): string {
    const file = this.path(name);
    ok(["genpkey", "-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${bits}`, "-out", file]);
    return file;
  }

  /** `openssl pkey -pubout`: the PEM public key of a key file. */
  publicKey(key: string): string {
    return ok(["pkey", "-in", key, "-pubout"]);
  }

  /** `openssl req -new -key KEY -subj SUBJ`; DER or PEM bytes. */
  csr(key: string, subj: string, form: "PEM" | "DER" = "PEM"): Buffer {
    const out = this.path(`csr-${Math.random().toString(36).slice(2)}.${form.toLowerCase()}`);
    ok(["req", "-new", "-key", key, "-subj", subj, "-outform", form, "-out", out]);
    return readFileSync(out);
  }

  write(name: string, data: Uint8Array | string): string {
    const file = this.path(name);
    writeFileSync(file, data);
    return file;
  }

  /** `openssl verify -CAfile ca.pem [-attime T]` on a DER certificate; atMs checks at that time. */
  verify(caPem: string, certDer: Uint8Array, atMs?: number): { code: number; stdout: string; stderr: string } {
    const ca = this.write("ca.pem", caPem);
    const pem = ok(["x509", "-inform", "DER"], certDer);
    const cert = this.write(`cert-${Math.random().toString(36).slice(2)}.pem`, pem);
    const at = atMs === undefined ? [] : ["-attime", String(Math.floor(atMs / 1000))];
    return openssl(["verify", "-CAfile", ca, ...at, cert]);
  }

  /** `openssl x509 -noout <flags>` on a DER certificate, stdout. */
  x509(certDer: Uint8Array, ...flags: string[]): string {
    return ok(["x509", "-inform", "DER", "-noout", ...flags], certDer);
  }
}

/** What a UE holds after Ub (test/helpers/mini-ue.ts Bootstrapped has these fields). */
export interface Bootstrap {
  btid: string;
  ks: Uint8Array;
  rand: Uint8Array;
}

/** TS 33.220 B.3: the OBU's Ks_NAF for the ECA's NAF_Id = FQDN ‖ Ua id. */
export function ksNafFor(boot: Bootstrap, impi: string, fqdn: string, uaId: UaId): Uint8Array {
  return deriveKsNaf(boot.ks, boot.rand, impi, nafId(fqdn, uaId));
}

export interface EnrolAnswer {
  status: number;
  type: string | undefined;
  body: Buffer;
  /** rspauth of Authentication-Info checked against the body (200 only) */
  rspauthOk?: boolean;
}

/**
 * TS 24.109 §5.2 / Table E.3.1-1: POST /enrol?response=single, the 401 with the bootstrapping
 * realm, then Digest (username B-TID, password base64(Ks_NAF), qop=auth-int over the CSR).
 */
export async function enrolOverDigest(
  ecaUrl: string,
  fqdn: string,
  impi: string,
  boot: Bootstrap,
  csr: Uint8Array,
  opts: { btid?: string; type?: string } = {},
): Promise<EnrolAnswer & { realm: string }> {
  const path = "/enrol?response=single";
  const headers = {
    "content-type": opts.type ?? "application/x-pkcs10",
    "user-agent": "OBU Enrolment Agent; Release-6 3gpp-gba",
  };
  const first = await request(ecaUrl + path, { method: "POST", headers, body: csr });
  await first.body.dump();
  if (first.statusCode !== 401) throw new Error(`expected 401 before Digest, got ${first.statusCode}`);
  const ch = parseDigestChallenge(String(first.headers["www-authenticate"]))[0];
  const password = ksNafPassword(ksNafFor(boot, impi, fqdn, UA_ID.HTTP_DIGEST));
  const cnonce = randomBytes(8).toString("hex");
  const base = {
    algorithm: "MD5" as const,
    username: opts.btid ?? boot.btid,
    realm: ch.realm,
    password,
    nonce: ch.nonce,
    nc: "00000001",
    cnonce,
    qop: "auth-int" as const,
    uri: path,
  };
  const response = digestResponse({ ...base, method: "POST", body: csr });
  const authorization = formatCredentials({ ...base, response, opaque: ch.opaque });
  const res = await request(ecaUrl + path, { method: "POST", headers: { ...headers, authorization }, body: csr });
  const body = Buffer.from(await res.body.arrayBuffer());
  const answer: EnrolAnswer & { realm: string } = {
    status: res.statusCode,
    type: res.headers["content-type"] as string | undefined,
    body,
    realm: ch.realm,
  };
  if (res.statusCode === 200) {
    // the answer is integrity protected with Ks_NAF (TS 24.109 §5.2.2, Table E.4-1)
    const info = parseAuthenticationInfo(String(res.headers["authentication-info"]));
    answer.rspauthOk = info.rspauth === rspauth({ ...base, responseBody: body });
  }
  return answer;
}
