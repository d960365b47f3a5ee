import { defineConfig } from "vitest/config";

// .ci/run sets GBA_TEST_JSON to get a JSON report for its closing count line, so it can run the
// README's test line unchanged
const jsonReport = process.env.GBA_TEST_JSON;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    ...(jsonReport ? { reporters: ["default", "json"], outputFile: { json: jsonReport } } : {}),
  },
});
