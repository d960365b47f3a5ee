// The same-run baseline of bench/hss-zh.ts: a bare Fastify JSON route with the Zh path and
// the server settings every NF uses (nf/common/server.ts), answering an AV-shaped body without
// a store or MILENAGE. Run as a child: prints {"url": ...} once listening, stops on SIGTERM.
import { createNfServer, listen } from "../nf/common/server.js";

const AV = {
  impi: "bench@ims.mnc001.mcc001.3gppnetwork.org",
  "3gAkaAv": { rand: "00".repeat(16), xres: "00".repeat(8), autn: "00".repeat(16), ck: "00".repeat(16), ik: "00".repeat(16) },
};

const app = createNfServer({ name: "bare", logLevel: "warn" });
app.post<{ Params: { ueId: string } }>("/nhss-gba-ueau/v1/:ueId/security-information/generate-auth-data", async (req) => ({
  ...AV,
  impi: req.params.ueId,
}));
const url = await listen(app, { host: "127.0.0.1", port: 0 });
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.once("SIGTERM", () => {
  app.close().then(() => process.exit(0));
});
