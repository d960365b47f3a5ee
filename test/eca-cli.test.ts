// `gba eca` and `gba provision vehicle ...` as an operator runs them: the compiled CLI
// (node dist/cli/main.js; build with `npx tsc -p .` first), each in its own process. On the
// suite's store backend: every `--data DIR` goes with its store (./helpers/store-backend.ts).
import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { describe, expect, it } from "vitest";
import { hexToBytes } from "../wire/bytes.js";
import { enrolOverDigest, OpensslDir } from "./eca-helpers.js";
import { MiniUe } from "./helpers/mini-ue.js";
import { ON_REDIS, withStoreArgs } from "./helpers/store-backend.js";

const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));

function gba(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...withStoreArgs(args)], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Starts a long-running command and resolves with its ready line. */
function startReady(
  args: string[],
): Promise<{ child: ChildProcessWithoutNullStreams; ready: Record<string, Record<string, string>> }> {
  const child = spawn(process.execPath, [MAIN, ...withStoreArgs(args)]);
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 20 s; stderr: ${stderr}`)), 20_000);
    child.once("exit", (code) => reject(new Error(`exited with ${code} before ready; stderr: ${stderr}`)));
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(timer);
      resolve({ child, ready: JSON.parse(line) });
    });
  });
}

function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

function freshRoot(): string {
  return join(mkdtempSync(join(tmpdir(), "eca-cli-")), "data");
}

describe("gba eca", () => {
  it("--help names the resources and exits 0", async () => {
    const r = await gba("eca", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/POST \/enrol/);
    expect(r.stdout).toMatch(/application\/pkix-cert/);
  });

  it("starts alone, prints {ready, eca:{url, tlsPsk}}, serves /ca.pem from <data>/eca/, stops on SIGTERM with 0", async () => {
    const data = freshRoot();
    const { child, ready } = await startReady(["eca", "--ephemeral-ports", "--data", data, "--log-level", "silent"]);
    try {
      expect(ready.ready).toBe(true);
      expect(Object.keys(ready.eca).sort()).toEqual(["tlsPsk", "url"]);
      expect(ready.eca.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(ready.eca.tlsPsk).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const res = await request(`${ready.eca.url}/ca.pem`);
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe(readFileSync(join(data, "eca", "ca.pem"), "utf8"));
    } finally {
      expect(await stop(child)).toBe(0);
    }
  });

  it("refuses a bad eca config with exit 1 naming the setting", async () => {
    const dir = mkdtempSync(join(tmpdir(), "eca-cfg-"));
    const days = join(dir, "days.yaml");
    writeFileSync(days, "eca:\n  certValidityDays: 0\n");
    const r1 = await gba("eca", "--config", days, "--ephemeral-ports", "--data", join(dir, "d"));
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/eca\.certValidityDays: expected a whole number of days/);
    const url = join(dir, "url.yaml");
    writeFileSync(url, "eca:\n  bsfUrl: ftp://bsf\n");
    const r2 = await gba("eca", "--config", url, "--ephemeral-ports", "--data", join(dir, "d"));
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/eca\.bsfUrl: /);
  });
});

describe("gba provision vehicle", () => {
  it("add binds an OBU; the same binding again is unchanged; a conflicting one exits 1 and writes nothing", async () => {
    const data = freshRoot();
    const add = await gba(
      "provision",
      "vehicle",
      "add",
      "--vehicle",
      "VIN-0001",
      "--obu",
      "OBU-0001",
      "--msisdn",
      "+491700000001",
      "--data",
      data,
    );
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({
      added: 1,
      unchanged: 0,
      binding: { vehicleId: "VIN-0001", obuId: "OBU-0001", msisdn: "491700000001" },
    });
    const again = await gba(
      "provision",
      "vehicle",
      "add",
      "--vehicle",
      "VIN-0001",
      "--obu",
      "OBU-0001",
      "--msisdn",
      "491700000001",
      "--data",
      data,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, unchanged: 1 });
    const moved = await gba(
      "provision",
      "vehicle",
      "add",
      "--vehicle",
      "VIN-0002",
      "--obu",
      "OBU-0001",
      "--msisdn",
      "491700000009",
      "--data",
      data,
    );
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(/nothing written/);
    expect(moved.stderr).toMatch(/OBU OBU-0001 is already bound to vehicle VIN-0001/);
    const list = await gba("provision", "vehicle", "list", "--data", data);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ vehicleId: "VIN-0001", obuId: "OBU-0001", msisdn: "491700000001" }),
    ]);
  });

  it("a missing or malformed flag exits 2 naming it", async () => {
    const data = freshRoot();
    const missing = await gba("provision", "vehicle", "add", "--vehicle", "VIN-0001", "--obu", "OBU-0001", "--data", data);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--msisdn/);
    const unknown = await gba("provision", "vehicle", "frobnicate", "--data", data);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown vehicle command "frobnicate"/);
    const bad = await gba(
      "provision",
      "vehicle",
      "add",
      "--vehicle",
      "VIN 1",
      "--obu",
      "OBU-0001",
      "--msisdn",
      "49170",
      "--data",
      data,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/vehicle ID "VIN 1" is not/);
  });

  it("import is all-or-nothing with every bad line reported; a good file imports; list and certificates refuse a root without a registry", async () => {
    const data = freshRoot();
    for (const what of ["list", "certificates"]) {
      const r = await gba("provision", "vehicle", what, "--data", data);
      if (ON_REDIS) {
        // the registry is the cluster's, not the data root's: an empty one
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toEqual([]);
        continue;
      }
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no ECA store in .*--data DIR/);
    }
    expect(existsSync(join(data, "eca"))).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), "eca-csv-"));
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "vehicle_id,obu_id,msisdn\nVIN-1,OBU-1,491700000001\nVIN-2,OBU-2\nVIN-3,OBU-1,491700000003\n");
    const r1 = await gba("provision", "vehicle", "import", bad, "--data", data);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/line 3: expected 3 fields/);
    expect(r1.stderr).toMatch(/line 4: OBU OBU-1 appears again \(first at line 2\)/);
    expect(JSON.parse((await gba("provision", "vehicle", "list", "--data", data)).stdout)).toEqual([]);
    const good = join(dir, "good.csv");
    writeFileSync(good, "vehicle_id,obu_id,msisdn\nVIN-1,OBU-1,491700000001\nVIN-2,OBU-2,+491700000002\n");
    const r2 = await gba("provision", "vehicle", "import", good, "--data", data);
    expect(r2.code, r2.stderr).toBe(0);
    expect(JSON.parse(r2.stdout)).toEqual({ added: 2, unchanged: 0 });
    expect(JSON.parse((await gba("provision", "vehicle", "list", "--data", data)).stdout)).toHaveLength(2);
    const missing = await gba("provision", "vehicle", "import", join(dir, "nope.csv"), "--data", data);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.csv: does not exist/);
  });
});

describe("gba up with the ECA, provisioned from the CLI while it runs", () => {
  it("an OBU bootstraps at the BSF of `gba up` and enrols at its ECA; the CLI lists the certificate", async () => {
    const data = freshRoot();
    const { child, ready } = await startReady(["up", "--ephemeral-ports", "--data", data, "--log-level", "silent"]);
    try {
      expect(Object.keys(ready.eca).sort()).toEqual(["tlsPsk", "url"]);
      const impi = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org";
      const k = "465b5ce8b199b49faa5f0a2ee238a6bc";
      const opc = "cd63cb71954a9f4e48a5994e37a02baf";
      const sub = await gba(
        "provision",
        "add",
        "--impi",
        impi,
        "--k",
        k,
        "--opc",
        opc,
        "--msisdn",
        "491700000001",
        "--data",
        data,
      );
      expect(sub.code, sub.stderr).toBe(0);
      const veh = await gba(
        "provision",
        "vehicle",
        "add",
        "--vehicle",
        "VIN-0001",
        "--obu",
        "OBU-0001",
        "--msisdn",
        "+491700000001",
        "--data",
        data,
      );
      expect(veh.code, veh.stderr).toBe(0);

      const boot = await new MiniUe({ impi, k: hexToBytes(k), opc: hexToBytes(opc) }).bootstrap(ready.bsf.ub, ready.bsf.fqdn);
      const ossl = new OpensslDir();
      const csr = ossl.csr(ossl.ecKey("obu.key"), "/CN=OBU-0001");
      const res = await enrolOverDigest(ready.eca.url, "eca.vehicleman.example", impi, boot, csr);
      expect(res.status, res.body.toString()).toBe(200);
      expect(res.rspauthOk).toBe(true);
      const pem = await (await request(`${ready.eca.url}/ca.pem`)).body.text();
      const v = ossl.verify(pem, res.body);
      expect(v.code, v.stderr).toBe(0);
      expect(ossl.x509(res.body, "-subject").trim()).toBe("subject=CN = OBU-0001, serialNumber = VIN-0001");

      const certs = await gba("provision", "vehicle", "certificates", "--data", data);
      expect(certs.code, certs.stderr).toBe(0);
      const serial = ossl.x509(res.body, "-serial").trim().slice("serial=".length).toLowerCase();
      expect(JSON.parse(certs.stdout)).toEqual([
        expect.objectContaining({ serial, impi, vehicleId: "VIN-0001", obuId: "OBU-0001", method: "digest" }),
      ]);
    } finally {
      expect(await stop(child)).toBe(0);
    }
  });
});
