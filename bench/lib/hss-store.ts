// HSS stores of bench subscribers, written straight into <data>/hss/ (the same checked bulk
// path as `gba provision import`) before the HSS starts. Large stores are built once under a
// cache directory and reused; a marker file says a store is complete.
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bytesToHex } from "../../wire/bytes.js";
import { writeRows } from "../../nf/hss/bulk.js";
import type { RedisStoreConfig } from "../../nf/common/store/redis-config.js";
import { LmdbHssStore } from "../../nf/hss/store-lmdb.js";
import { openHssStore } from "../../nf/hss/store-open.js";
import { type SubscriberData, validateCreate } from "../../nf/hss/subscriber.js";
import { benchSubscriber } from "./ue-load.js";

/** The master key comes from <data>/hss/master.key: the environment's GBA_MASTER_KEY is not used. */
export const STORE_ENV: NodeJS.ProcessEnv = {};
const CHUNK = 50_000;

/** Environment for a `gba hss` child on such a store. */
export function hssChildEnv(): NodeJS.ProcessEnv {
  const { GBA_MASTER_KEY: _ignored, ...rest } = process.env;
  return rest;
}

/** Writes bench subscribers 0..n-1 (deterministic K and OPc, see benchSubscriber) into dataRoot. */
export async function provisionBenchSubscribers(
  dataRoot: string,
  n: number,
  progress?: (done: number) => void,
  redis?: RedisStoreConfig,
): Promise<void> {
  const store = redis
    ? await openHssStore({ data: dataRoot, store: redis }, { env: STORE_ENV })
    : LmdbHssStore.open(dataRoot, { env: STORE_ENV });
  try {
    for (let from = 0; from < n; from += CHUNK) {
      const batch: SubscriberData[] = [];
      for (let i = from; i < Math.min(n, from + CHUNK); i++) {
        const s = benchSubscriber(i);
        const v = validateCreate({ impi: s.impi, k: bytesToHex(s.k), opc: bytesToHex(s.opc) }, { defaultAmf: "8000" });
        if (!v.ok) throw new Error(v.errors.join("; "));
        batch.push(v.value);
      }
      await writeRows(store, batch);
      progress?.(Math.min(n, from + CHUNK));
    }
  } finally {
    await store.close();
  }
}

/** A data root holding an HSS store of n bench subscribers under cacheDir, built on first use. */
export async function cachedStore(cacheDir: string, n: number, log: (line: string) => void): Promise<string> {
  const data = join(cacheDir, `subs-${n}`);
  const marker = join(data, "complete");
  if (existsSync(marker)) return data;
  rmSync(data, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  const started = performance.now();
  await provisionBenchSubscribers(data, n, (done) => {
    if (n >= CHUNK) log(`building the ${n.toLocaleString("en-US")}-subscriber store: ${done.toLocaleString("en-US")}`);
  });
  log(`store of ${n.toLocaleString("en-US")} subscribers built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  writeFileSync(marker, `${n}\n`);
  return data;
}

/**
 * Folds up to `max` journaled SEQ_HE entries of the store under dataRoot (the bench's HSS may be
 * running on it: LMDB is multi-process); resolves to how many and how long the commit took.
 */
export async function timeCheckpoint(dataRoot: string, max: number): Promise<{ entries: number; ms: number }> {
  const store = LmdbHssStore.open(dataRoot, { env: STORE_ENV });
  try {
    const t0 = performance.now();
    const entries = await store.checkpointSqn(max);
    return { entries, ms: performance.now() - t0 };
  } finally {
    await store.close();
  }
}
