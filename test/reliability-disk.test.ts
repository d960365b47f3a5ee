// Disk full and read-only data directories, on real file systems: a tmpfs with a size limit
// filled to the last block, and read-only bind mounts (the suite runs as root, where chmod does
// not stop writes). A write that cannot be committed is answered 507 (RFC 4918 §11.5) with a
// ProblemDetails naming the cause, the NF stays up, nothing acknowledged is lost, the store
// reopens intact after a SIGKILL, and writes work again once there is space. An NF refuses to
// start on a read-only or full data root with one clear line and exit status 1.
import { openSync, rmSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bytesToHex } from "../wire/bytes.js";
import type { GbaConfig } from "../nf/config.js";
import { LmdbHssStore } from "../nf/hss/store-lmdb.js";
import { testSubscriber } from "./helpers/bsf-stack.js";
import {
  bindReadOnly,
  expectStartRefused,
  fixedPortConfig,
  kill,
  mountTmpfs,
  type NfProcess,
  removeTempDirs,
  spawnNf,
  stop,
  subdir,
  tempDir,
  unmountAll,
} from "./helpers/fault-procs.js";
import { MiniUe } from "./helpers/mini-ue.js";
import { fetchAv, jsonRequest, newSub, TestUsim } from "./hss-fixtures.js";

const MASTER_KEY = "11".repeat(32);
const ENV = { GBA_MASTER_KEY: MASTER_KEY };

/** Writes a file until the file system says ENOSPC; returns its path (delete it to free the space). */
function fillUp(dir: string): string {
  const file = join(dir, "filler");
  const fd = openSync(file, "w");
  const block = Buffer.alloc(4096, 0xa5);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
  return file;
}

function expectInsufficientStorage(r: { status: number; body: { cause?: string; detail?: string } }): void {
  expect(r.status).toBe(507);
  expect(r.body.cause).toBe("INSUFFICIENT_STORAGE");
  expect(r.body.detail).toMatch(/no space left on device/);
}

afterAll(() => {
  unmountAll();
  removeTempDirs();
});

describe("disk full", () => {
  it("HSS: provisioning answers 507 and stays up; nothing acknowledged is lost, even across SIGKILL; writes resume with space", async () => {
    const fs = mountTmpfs("2m");
    const cfg = await fixedPortConfig(subdir(fs, "data"));
    let hss: NfProcess = await spawnNf("hss", cfg, { env: ENV });
    const acknowledged: Array<ReturnType<typeof newSub>> = [];
    try {
      for (let i = 0; i < 5; i++) {
        const s = newSub();
        expect((await jsonRequest("POST", `${hss.urls.admin}/subscribers`, s)).status).toBe(201);
        acknowledged.push(s);
      }
      const filler = fillUp(fs);
      let refused: Awaited<ReturnType<typeof jsonRequest>> | undefined;
      for (let i = 0; i < 5000 && !refused; i++) {
        const s = newSub();
        const r = await jsonRequest("POST", `${hss.urls.admin}/subscribers`, s);
        if (r.status === 201) acknowledged.push(s);
        else refused = r;
      }
      expect(refused, "the disk never filled up").toBeDefined();
      expectInsufficientStorage(refused!);
      // Zh: a vector leaves only with its SQN committed; on a full disk it is refused, never 5xx'd blindly
      const zh = await fetchAv(hss.urls.zh, acknowledged[0].impi);
      if (zh.status !== 200) expectInsufficientStorage(zh);
      expect(hss.child.exitCode).toBeNull();

      // a SIGKILL while full: the store reopens with every acknowledged subscriber
      await kill(hss);
      hss = await spawnNf("hss", cfg, { env: ENV });
      for (const s of acknowledged) {
        const r = await jsonRequest("GET", `${hss.urls.admin}/subscribers/${encodeURIComponent(s.impi)}`);
        expect(r.status, s.impi).toBe(200);
      }
      rmSync(filler);
      const later = newSub();
      expect((await jsonRequest("POST", `${hss.urls.admin}/subscribers`, later)).status).toBe(201);
      // and the vectors still verify on the card
      const card = new TestUsim(acknowledged[1]);
      const av = await fetchAv(hss.urls.zh, acknowledged[1].impi);
      expect(av.status).toBe(200);
      expect(card.authenticate(av.body["3gAkaAv"]).kind).toBe("success");
    } finally {
      await stop(hss);
    }
    const store = LmdbHssStore.open(cfg.data, { env: ENV });
    try {
      expect(await store.count()).toBe(acknowledged.length + 1);
    } finally {
      await store.close();
    }
  });

  it("BSF: a bootstrap that cannot be stored is answered 507, the BSF stays up and bootstraps again with space", async () => {
    const hssCfg = await fixedPortConfig(tempDir("gba-disk-hss-"));
    const hss = await spawnNf("hss", hssCfg, { env: ENV });
    const fs = mountTmpfs("2m");
    const cfg: GbaConfig = { ...hssCfg, data: subdir(fs, "data") };
    const bsf = await spawnNf("bsf", cfg);
    try {
      const sub = testSubscriber();
      const p = await jsonRequest("POST", `${hss.urls.admin}/subscribers`, {
        impi: sub.impi,
        k: bytesToHex(sub.k),
        opc: bytesToHex(sub.opc),
      });
      expect(p.status).toBe(201);
      const ue = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
      await ue.bootstrap(bsf.urls.ub, cfg.bsf.fqdn);
      const filler = fillUp(fs);
      let failure: Error | undefined;
      for (let i = 0; i < 3000 && !failure; i++) {
        try {
          await ue.bootstrap(bsf.urls.ub, cfg.bsf.fqdn);
        } catch (err) {
          failure = err as Error;
        }
      }
      expect(failure, "the disk never filled up").toBeDefined();
      expect(failure!.message).toMatch(/got 507: .*INSUFFICIENT_STORAGE/);
      expect(bsf.child.exitCode).toBeNull();
      rmSync(filler);
      const again = await ue.bootstrap(bsf.urls.ub, cfg.bsf.fqdn);
      expect(again.btid).toMatch(/@/);
    } finally {
      await stop(bsf);
      await stop(hss);
    }
  });

  it("an NF refuses to start on a full file system with one clear line, exit status 1", async () => {
    const fs = mountTmpfs("256k");
    const cfg = await fixedPortConfig(join(fs, "data"));
    fillUp(fs);
    for (const nf of ["hss", "bsf"] as const) {
      const r = await expectStartRefused(nf, cfg, { env: ENV });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/no space left on device/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });
});

describe("read-only data directory", () => {
  it("HSS, BSF and ECA refuse to start with 'read-only file system'; the store stays intact", async () => {
    const root = tempDir("gba-disk-ro-");
    const cfg = await fixedPortConfig(root);
    const hss = await spawnNf("hss", cfg, { env: ENV });
    const subs = [newSub(), newSub()];
    for (const s of subs) expect((await jsonRequest("POST", `${hss.urls.admin}/subscribers`, s)).status).toBe(201);
    await stop(hss);
    const bsf = await spawnNf("bsf", cfg);
    await stop(bsf);

    const ro = bindReadOnly(root);
    const roCfg: GbaConfig = { ...cfg, data: ro };
    for (const nf of ["hss", "bsf", "eca"] as const) {
      const r = await expectStartRefused(nf, roCfg, { env: ENV });
      expect(r.code, `${nf}: ${r.stderr}`).toBe(1);
      expect(r.stderr, nf).toMatch(/read-only file system/);
      expect(r.stderr, nf).not.toMatch(/\n\s+at /);
    }
    // a fresh data root on a read-only mount: the same clear refusal
    const r = await expectStartRefused("hss", { ...cfg, data: join(ro, "fresh") }, { env: ENV });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/read-only file system/);

    const store = LmdbHssStore.open(root, { env: ENV });
    try {
      expect(await store.count()).toBe(subs.length);
      for (const s of subs) expect(Buffer.from(store.secrets.open((await store.get(s.impi))!).k).toString("hex")).toBe(s.k);
    } finally {
      await store.close();
    }
  });
});
