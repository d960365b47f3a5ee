// `gba bsf` (a child process with its own data root, talking Zh to the HSS) is killed with
// SIGKILL while UEs bootstrap, and restarted on the same data and ports. UEs that were cut off
// recover by bootstrapping again; every bootstrap session a UE got its 200 for before a kill and
// did not replace since is still served on Zn after the restart, with the Ks_NAF the UE derives.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveKsNaf, nafId } from "../gba/keys.js";
import { UA_ID } from "../gba/ua-id.js";
import { bytesToHex } from "../wire/bytes.js";
import type { GbaConfig } from "../nf/config.js";
import type { RunningNf } from "../nf/common/nf.js";
import { startHss } from "../nf/hss/index.js";
import { testSubscriber } from "./helpers/bsf-stack.js";
import { fixedPortConfig, kill, type NfProcess, removeTempDirs, spawnNf, stop, tempDir } from "./helpers/fault-procs.js";
import { MiniUe } from "./helpers/mini-ue.js";
import { jsonRequest } from "./hss-fixtures.js";

const KILLS = 10;
const BUSY_UES = 8;
const SETTLED_PER_ROUND = 3;
const NAF_FQDN = "naf.example.org";
const NAF_TOKEN = "naf-zn-token";

interface Session {
  impi: string;
  btid: string;
  ks: Uint8Array;
  rand: Uint8Array;
}

let cfg: GbaConfig;
let hss: RunningNf;

async function provision(ue: { impi: string; k: Uint8Array; opc: Uint8Array }): Promise<void> {
  const r = await jsonRequest("POST", `${hss.urls.admin}/subscribers`, {
    impi: ue.impi,
    k: bytesToHex(ue.k),
    opc: bytesToHex(ue.opc),
  });
  if (r.status !== 201) throw new Error(`provisioning: ${r.status} ${r.text}`);
}

async function newUe(): Promise<MiniUe> {
  const sub = testSubscriber();
  await provision(sub);
  return new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
}

async function bootstrap(ue: MiniUe, ub: string): Promise<Session> {
  const b = await ue.bootstrap(ub, cfg.bsf.fqdn);
  return { impi: ue.impi, btid: b.btid, ks: b.ks, rand: b.rand };
}

/** Zn as the NAF asks it; the key the UE derives itself must be the one the BSF hands out. */
async function znKey(zn: string, btid: string): Promise<{ status: number; key?: string }> {
  const r = await jsonRequest(
    "POST",
    `${zn}/nbsp-gba/v1/bootstrapping-info-retrieval`,
    { btId: btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: "0100000002" } },
    { authorization: `Bearer ${NAF_TOKEN}` },
  );
  return { status: r.status, key: r.body?.meKeyMaterial };
}

function expectedKey(s: Session): string {
  return bytesToHex(deriveKsNaf(s.ks, s.rand, s.impi, nafId(NAF_FQDN, UA_ID.HTTP_DIGEST)));
}

beforeAll(async () => {
  cfg = await fixedPortConfig(tempDir("gba-bsf-kill-"));
  cfg.logLevel = "silent";
  hss = await startHss({ ...cfg, hss: { ...cfg.hss } });
});

afterAll(async () => {
  await hss?.close();
  removeTempDirs();
});

describe("BSF SIGKILL during bootstraps", () => {
  it(`${KILLS} kills: cut-off UEs bootstrap again, committed sessions stay valid on Zn`, async () => {
    const busy = await Promise.all(Array.from({ length: BUSY_UES }, newUe));
    const settled: Session[] = [];
    let bsf: NfProcess = await spawnNf("bsf", cfg);
    const ub = () => bsf.urls.ub;
    let cutOff = 0;
    let completed = 0;
    try {
      for (let round = 0; round < KILLS; round++) {
        // these UEs bootstrap once and then keep their session across the kill
        for (let i = 0; i < SETTLED_PER_ROUND; i++) settled.push(await bootstrap(await newUe(), ub()));
        let ok = 0;
        const loop = async (ue: MiniUe) => {
          for (;;) {
            try {
              await bootstrap(ue, ub());
              ok++;
              completed++;
            } catch {
              cutOff++;
              return;
            }
          }
        };
        const loops = busy.map(loop);
        let stopped = false;
        void Promise.all(loops).then(() => {
          stopped = true;
        });
        const target = 10 + ((round * 13) % 40);
        while (ok < target && !stopped) await new Promise((r) => setTimeout(r, 2));
        expect(stopped, `round ${round}: bootstraps failed before the kill; stderr: ${bsf.stderr()}`).toBe(false);
        await new Promise((r) => setTimeout(r, (round * 5) % 17));
        await kill(bsf);
        await Promise.all(loops);
        expect(bsf.child.signalCode).toBe("SIGKILL");

        bsf = await spawnNf("bsf", cfg);
        // every session committed before any of the kills so far is served with the right key
        for (const s of settled) {
          const got = await znKey(bsf.urls.zn, s.btid);
          expect(got.status, `round ${round}: ${s.btid}`).toBe(200);
          expect(got.key).toBe(expectedKey(s));
        }
        // the UEs that were cut off recover by bootstrapping again, and the new sessions serve Zn
        const again = await Promise.all(busy.map((ue) => bootstrap(ue, ub())));
        for (const s of again) {
          const got = await znKey(bsf.urls.zn, s.btid);
          expect(got.status).toBe(200);
          expect(got.key).toBe(expectedKey(s));
        }
      }
    } finally {
      await stop(bsf);
    }
    process.stderr.write(
      `reliability: BSF ${KILLS} SIGKILLs, ${completed} bootstraps under fire, ${cutOff} UE runs cut off and recovered, ` +
        `${settled.length} committed sessions valid on Zn after every restart\n`,
    );
  }, 120_000);
});
