// The Zn client (TS 29.309 BootstrappingInfoRetrieval) against scripted BSF answers.
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import {
  BsfUnavailable,
  BtidUnknown,
  createZnClient,
  NafNotAuthorized,
  type ZnClientHandle,
  ZnFailure,
} from "../nf/naf/index.js";

const BTID = "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org";
const KEY_HEX = "ae9ecc3c7c17692c1d44d6d68d53a3b1624a706039753ba991e8293f3cfdec08";
const HTTP_DIGEST = Uint8Array.of(1, 0, 0, 0, 2);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function bsf(
  handler: (body: unknown, auth: string | undefined) => { status: number; body?: unknown; delayMs?: number },
): Promise<{ url: string; bodies: unknown[] }> {
  const app: FastifyInstance = Fastify();
  const bodies: unknown[] = [];
  app.post("/base/nbsp-gba/v1/bootstrapping-info-retrieval", async (req, reply) => {
    bodies.push(req.body);
    const r = handler(req.body, req.headers.authorization);
    if (r.delayMs) await new Promise((res) => setTimeout(res, r.delayMs).unref());
    return reply.code(r.status).send(r.body);
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  cleanups.push(() => app.close());
  return { url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}/base`, bodies };
}

/** A Zn client with a timeout a loaded test machine does not reach (the timeout case sets its own). */
function client(url: string, extra: Partial<Parameters<typeof createZnClient>[0]> = {}): ZnClientHandle {
  const c = createZnClient({ bsfUrl: url, token: "tok", timeoutMs: 5000, ...extra });
  cleanups.push(() => c.close());
  return c;
}

const answer = (expiry: string) => ({
  meKeyMaterial: KEY_HEX.toUpperCase(),
  keyExpiryTime: expiry,
  bootstrappingInfoCreationTime: "2025-01-01T00:00:00Z",
  ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: "tel:+1555" }] } }],
  gbaType: "3G_GBA",
  impi: "001010123456789@ims.mnc001.mcc001.3gppnetwork.org",
});

describe("Zn client", () => {
  it("sends the TS 29.309 request with the bearer token and decodes the answer", async () => {
    let auth: string | undefined;
    const b = await bsf((_body, a) => {
      auth = a;
      return { status: 200, body: answer("2099-01-01T00:00:00Z") };
    });
    const c = client(b.url, { gbaUAware: true, gsIds: [1, 4] });
    const r = await c.lookup(BTID, "naf.example.org", HTTP_DIGEST);
    expect(b.bodies[0]).toEqual({
      btId: BTID,
      nafId: { nafFqdn: "naf.example.org", uaSecProtId: "0100000002" },
      gbaUAware: true,
      gsIds: [1, 4],
    });
    expect(auth).toBe("Bearer tok");
    expect(Buffer.from(r.meKeyMaterial).toString("hex")).toBe(KEY_HEX);
    expect(r.expiresAt).toBe(Date.parse("2099-01-01T00:00:00Z"));
    expect(r.impi).toBe("001010123456789@ims.mnc001.mcc001.3gppnetwork.org");
    expect(r.uiccKeyMaterial).toBeUndefined();
  });

  it("caches per (B-TID, NAF_Id) until keyExpiryTime and shares concurrent lookups", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const b = await bsf(() => ({ status: 200, body: answer("2030-01-01T00:10:00Z"), delayMs: 20 }));
    const c = client(b.url, { clock: () => now });
    await Promise.all([c.lookup(BTID, "naf.example.org", HTTP_DIGEST), c.lookup(BTID, "naf.example.org", HTTP_DIGEST)]);
    expect(b.bodies).toHaveLength(1);
    await c.lookup(BTID, "naf.example.org", Uint8Array.of(1, 0, 1, 0, 0x8c));
    await c.lookup(BTID, "other.example.org", HTTP_DIGEST);
    expect(b.bodies).toHaveLength(3);
    expect(c.cached(BTID, "naf.example.org", HTTP_DIGEST)).toBeDefined();
    now = Date.parse("2030-01-01T00:10:00Z");
    expect(c.cached(BTID, "naf.example.org", HTTP_DIGEST)).toBeUndefined();
    await expect(c.lookup(BTID, "naf.example.org", HTTP_DIGEST)).rejects.toBeInstanceOf(BtidUnknown); // already expired on arrival
    expect(b.bodies).toHaveLength(4);
  });

  it("keeps at most maxEntries answers", async () => {
    const b = await bsf(() => ({ status: 200, body: answer("2099-01-01T00:00:00Z") }));
    const c = client(b.url, { maxEntries: 2 });
    for (const f of ["a.example", "b.example", "c.example"]) await c.lookup(BTID, f, HTTP_DIGEST);
    expect(c.cached(BTID, "a.example", HTTP_DIGEST)).toBeUndefined();
    expect(c.cached(BTID, "c.example", HTTP_DIGEST)).toBeDefined();
  });

  it("maps 404 to BtidUnknown, 403 to NafNotAuthorized and 401 / 5xx / garbage / timeouts to BsfUnavailable", async () => {
    const cases: Array<[{ status: number; body?: unknown; delayMs?: number }, new (...a: never[]) => Error, RegExp?]> = [
      [{ status: 404, body: { status: 404, cause: "BTID_NOT_FOUND" } }, BtidUnknown],
      [{ status: 403 }, NafNotAuthorized],
      [{ status: 401 }, BsfUnavailable, /token/],
      [{ status: 500, body: { detail: "boom" } }, BsfUnavailable, /500: boom/],
      [{ status: 200, body: { ...answer("2099-01-01T00:00:00Z"), meKeyMaterial: "abc" } }, BsfUnavailable, /meKeyMaterial/],
      [{ status: 200, body: { ...answer("yesterday") } }, BsfUnavailable, /keyExpiryTime/],
      [{ status: 200, body: { ...answer("2099-01-01T00:00:00Z"), impi: undefined } }, BsfUnavailable, /impi/],
      // a BSF that does not answer within the test: the client's timeout is the only way out, however busy the machine
      [{ status: 200, body: answer("2099-01-01T00:00:00Z"), delayMs: 60_000 }, BsfUnavailable, /within 300 ms/],
    ];
    for (const [reply, type, msg] of cases) {
      const b = await bsf(() => reply);
      const err = await client(b.url, reply.delayMs ? { timeoutMs: 300 } : {})
        .lookup(BTID, "naf.example.org", HTTP_DIGEST)
        .catch((e: unknown) => e);
      expect(err, JSON.stringify(reply)).toBeInstanceOf(type);
      // the typed contract the plugin and the TLS-PSK listener act on
      expect(err).toBeInstanceOf(ZnFailure);
      if (msg) expect((err as Error).message).toMatch(msg);
    }
    const down = await client("http://127.0.0.1:1")
      .lookup(BTID, "naf.example.org", HTTP_DIGEST)
      .catch((e: unknown) => e);
    expect(down).toBeInstanceOf(BsfUnavailable);
  });

  it("does not cache failures", async () => {
    let status = 404;
    const b = await bsf(() => (status === 404 ? { status } : { status, body: answer("2099-01-01T00:00:00Z") }));
    const c = client(b.url);
    await expect(c.lookup(BTID, "naf.example.org", HTTP_DIGEST)).rejects.toBeInstanceOf(BtidUnknown);
    status = 200;
    await expect(c.lookup(BTID, "naf.example.org", HTTP_DIGEST)).resolves.toMatchObject({ btid: BTID });
  });

  it("refuses a BSF URL that is not http(s)", () => {
    expect(() => createZnClient({ bsfUrl: "ftp://x", token: "t" })).toThrow(/http/);
    expect(() => createZnClient({ bsfUrl: "not a url", token: "t" })).toThrow(/not a URL/);
  });
});
