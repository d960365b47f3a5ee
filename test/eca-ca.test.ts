// The ECA's CA key and certificate: created once in <data>/eca/ (key mode 0600), reused on
// restart, refused when inconsistent; checked with openssl.
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withDeps } from "../nf/common/deps.js";
import { StoreError } from "../nf/common/store.js";
import { loadOrCreateCa, serialFromRandom } from "../nf/eca/ca.js";
import { OpensslDir, openssl } from "./eca-helpers.js";

const FQDN = "eca.vehicleman.example";
const deps = withDeps({});

function freshRoot(): string {
  return mkdtempSync(join(tmpdir(), "eca-ca-"));
}

describe("ECA CA key and certificate", () => {
  it("is created on first start with a 0600 key file and reused unchanged afterwards", async () => {
    const data = freshRoot();
    const first = await loadOrCreateCa(data, FQDN, deps);
    const keyFile = join(data, "eca", "ca.key");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const again = await loadOrCreateCa(data, FQDN, deps);
    expect(again.pem).toBe(first.pem);
    expect(readFileSync(join(data, "eca", "ca.pem"), "utf8")).toBe(first.pem);
  });

  it("is a P-256 ECDSA self-signed CA (CA:TRUE pathlen 0, keyCertSign+cRLSign) whose key openssl accepts", async () => {
    const data = freshRoot();
    const ca = await loadOrCreateCa(data, FQDN, deps);
    const ossl = new OpensslDir();
    const caFile = ossl.write("ca.pem", ca.pem);
    const v = openssl(["verify", "-CAfile", caFile, caFile]);
    expect(v.code, v.stderr).toBe(0);
    const text = openssl(["x509", "-in", caFile, "-noout", "-text"]).stdout;
    expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
    expect(text).toMatch(/NIST CURVE: P-256/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    const keyPub = ossl.publicKey(join(data, "eca", "ca.key"));
    expect(openssl(["x509", "-in", caFile, "-noout", "-pubkey"]).stdout).toBe(keyPub);
  });

  it("re-creates a missing certificate from the existing key", async () => {
    const data = freshRoot();
    await loadOrCreateCa(data, FQDN, deps);
    const ossl = new OpensslDir();
    const keyPub = ossl.publicKey(join(data, "eca", "ca.key"));
    rmSync(join(data, "eca", "ca.pem"));
    const ca = await loadOrCreateCa(data, FQDN, deps);
    const caFile = ossl.write("ca2.pem", ca.pem);
    expect(openssl(["x509", "-in", caFile, "-noout", "-pubkey"]).stdout).toBe(keyPub);
  });

  it("refuses a key readable by others, a certificate without its key, and a certificate of another key", async () => {
    const data = freshRoot();
    await loadOrCreateCa(data, FQDN, deps);
    const keyFile = join(data, "eca", "ca.key");
    chmodSync(keyFile, 0o644);
    await expect(loadOrCreateCa(data, FQDN, deps)).rejects.toThrow(StoreError);
    await expect(loadOrCreateCa(data, FQDN, deps)).rejects.toThrow(/mode 644.*chmod 600/);
    chmodSync(keyFile, 0o600);

    const other = freshRoot();
    await loadOrCreateCa(other, FQDN, deps);
    copyFileSync(join(other, "eca", "ca.pem"), join(data, "eca", "ca.pem"));
    await expect(loadOrCreateCa(data, FQDN, deps)).rejects.toThrow(/does not belong to the key/);

    rmSync(keyFile);
    await expect(loadOrCreateCa(data, FQDN, deps)).rejects.toThrow(/exists without its key/);
  });

  it("serial numbers are positive and exactly 16 octets whatever the random bytes", () => {
    expect(serialFromRandom(new Uint8Array(16))).toBe(`40${"00".repeat(15)}`);
    expect(serialFromRandom(new Uint8Array(16).fill(0xff))).toBe(`7f${"ff".repeat(15)}`);
    expect(() => serialFromRandom(new Uint8Array(8))).toThrow(RangeError);
  });
});
