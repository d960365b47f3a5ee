import { defineConfig } from "vitest/config";

// .ci/run sets GBA_TEST_JSON to get a JSON report for its closing count line, so it can run the
// README's test line unchanged
const jsonReport = process.env.GBA_TEST_JSON;

/**
 * The NF suites run twice: on LMDB (project "lmdb", with every other test; the tests of the Redis
 * backend itself start their own cluster there) and on a Redis Cluster the run starts itself
 * (project "redis": GBA_TEST_STORE=redis, test/helpers/redis-global.ts,
 * test/helpers/store-backend.ts). `npx vitest run --project lmdb` runs one.
 */
const NF_SUITES = [
  "test/hss-admin.test.ts",
  "test/hss-cli.test.ts",
  "test/hss-kill.test.ts",
  "test/hss-store.test.ts",
  "test/hss-zh.test.ts",
  "test/bsf-cli.test.ts",
  "test/bsf-fuzz.test.ts",
  "test/bsf-refusal-log.test.ts",
  "test/bsf-ub.test.ts",
  "test/bsf-zn.test.ts",
  "test/bsf-zn-cache.test.ts",
  "test/bsf-tmpi.test.ts",
  "test/naf-acceptance.test.ts",
  "test/naf-cli.test.ts",
  "test/naf-plugin.test.ts",
  "test/eca-app.test.ts",
  "test/eca-cli.test.ts",
  "test/eca-e2e.test.ts",
  "test/eca-registry.test.ts",
];
// Not in the list, nothing of theirs depends on the backend:
// - hss-sqn-journal, bsf-stores: LMDB's own (journal checkpoint, the LMDB files and layout);
//   hss-redis-sqn and redis-store test the Redis backend against a cluster they start themselves
// - bsf-zh: the BSF's Zh client against a fake HSS (no session is stored)
// - eca-ca: the CA key and certificate files under <data>/eca/ (never in a store)
// - naf-nonce, naf-ua-procedure: the nonce issuer and the Ua procedure with the in-process
//   counter (pure logic); naf-protected-space, naf-proxy, naf-tls-psk, naf-zn-client: the NAF's
//   protected space, proxy, TLS-PSK and Zn client, which keep nothing in a store

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    ...(jsonReport ? { reporters: ["default", "json"], outputFile: { json: jsonReport } } : {}),
    projects: [
      // include is set per project: with `extends`, a root include would be added to the redis one
      { extends: true, test: { name: "lmdb", include: ["test/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "redis",
          include: NF_SUITES,
          env: { GBA_TEST_STORE: "redis" },
          globalSetup: ["test/helpers/redis-global.ts"],
        },
      },
    ],
  },
});
