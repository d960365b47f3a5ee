// The Enrolment CA's HTTP resources, behind the GBA NAF plugin (GSMA IoT.04 scenario 7, shaped
// as the TS 24.109 §6 / Annex E PKI portal):
//   POST /enrol                 PKCS#10 in, enrolment certificate out (GBA-authenticated)
//   GET  /getcertificate?in=B64 the CA certificate by issuer name (GBA-authenticated, 24.109 E.5)
//   GET  /ca.pem                the CA certificate, no authentication
//   GET  /certificates          issued certificates, newest first, paged (loopback clients only: admin)
//   GET  /bindings              the VehicleMan binding registry by OBU ID, paged (loopback clients only)
// HTTP binding only: the procedures decide, this file maps their outcomes to answers, logs each
// refusal and reports each enrolment to the dashboard's event bus when one listens.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { EventBus } from "../../common/events.js";
import { isLoopbackHost } from "../../common/loopback.js";
import { DEFAULT_PAGE, PAGE_QUERY_SCHEMA, type PageQuery, strictJsonSchemas } from "../../common/schema.js";
import { defineRoutes } from "../../common/server.js";
import { ECA_CAUSES, type EcaCause, ecaProblem } from "../causes.js";
import type { EnrolmentProcedures, Refused } from "../procedures/enrolment.js";

export interface EnrolmentRoutesOptions {
  enrolment: EnrolmentProcedures;
  /** the dashboard's event bus, when one listens: one "enrol" event per POST /enrol */
  events?: EventBus;
}

/** TS 24.109 Table E.3.1-1 names application/x-pkcs10; RFC 5967 registers application/pkcs10. */
export const CSR_CONTENT_TYPES = ["application/x-pkcs10", "application/pkcs10"] as const;
/** RFC 2585 §4.1: one DER certificate. */
export const PKIX_CERT = "application/pkix-cert";
/** RFC 8555 §9.1: PEM certificates. */
export const PEM_CHAIN = "application/pem-certificate-chain";
export const CSR_BODY_LIMIT = 16 * 1024;

/**
 * Served without GBA authentication: the CA certificate (what an OBU verifies its certificate
 * with) and the loopback-only certificate log and binding registry; every other path is in the
 * NAF plugin's protected space, so an unauthenticated client is challenged whatever it asks for.
 */
export const ECA_PUBLIC_PATHS: readonly string[] = ["/ca.pem", "/certificates", "/bindings"];

/** The one place a refused ECA request is logged and turned into ProblemDetails. */
function refuse(req: FastifyRequest, cause: EcaCause, detail: string): never {
  req.log.info({ cause, detail }, "ECA request refused");
  throw ecaProblem(cause, detail);
}

const refuseWith = (req: FastifyRequest, r: Refused): never => refuse(req, r.cause, r.detail);

async function loopbackOnly(req: FastifyRequest): Promise<void> {
  if (!isLoopbackHost(req.socket.remoteAddress ?? "")) {
    refuse(req, "ADMIN_LOOPBACK_ONLY", "the certificate log and the binding registry are served to loopback clients only");
  }
}

const PAGED = { onRequest: loopbackOnly, schema: { querystring: PAGE_QUERY_SCHEMA } };

export const enrolmentRoutes = defineRoutes<EnrolmentRoutesOptions>("eca-enrolment", async (app, opts) => {
  const { enrolment, events } = opts;
  strictJsonSchemas(app);
  for (const type of CSR_CONTENT_TYPES) {
    app.addContentTypeParser(type, { parseAs: "buffer", bodyLimit: CSR_BODY_LIMIT }, (_req, body, done) => done(null, body));
  }

  app.get("/ca.pem", async (_req, reply) => reply.type(PEM_CHAIN).send(enrolment.caPem));

  app.get<{ Querystring: PageQuery }>("/certificates", PAGED, async (req) => {
    const page = await enrolment.certificates(req.query.limit ?? DEFAULT_PAGE, req.query.after);
    return { certificates: page.items, next: page.next ?? null };
  });

  app.get<{ Querystring: PageQuery }>("/bindings", PAGED, async (req) => {
    const page = await enrolment.bindings(req.query.limit ?? DEFAULT_PAGE, req.query.after);
    return { bindings: page.items, next: page.next ?? null };
  });

  app.get("/getcertificate", { onRequest: app.gbaAuthenticate }, async (req, reply) => {
    const found = enrolment.caCertificate((req.query as { in?: string }).in);
    if (found.kind === "refused") return refuseWith(req, found);
    return reply.type(PKIX_CERT).send(Buffer.from(found.der));
  });

  // an enrolment whose client went away still finishes, so closing waits for it before the store closes
  const inFlight = new Set<Promise<unknown>>();
  app.addHook("onClose", async () => {
    await Promise.allSettled(inFlight);
  });
  app.post("/enrol", { onRequest: app.gbaAuthenticate, bodyLimit: CSR_BODY_LIMIT }, (req, reply) => {
    const work = enrol(req, reply);
    inFlight.add(work);
    return work.finally(() => inFlight.delete(work));
  });

  async function enrol(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const startedAt = events && performance.now();
    const gba = req.gba;
    /** the enrolment's event (when a bus listens), then the log line and the answer of a refusal */
    const refuseEnrol = (cause: EcaCause, detail: string): never => {
      events?.emit({
        nf: "eca",
        kind: "enrol",
        outcome: "refused",
        cause,
        status: ECA_CAUSES[cause],
        impi: gba?.impi,
        btid: gba?.btid,
        latencyMs: performance.now() - (startedAt as number),
      });
      return refuse(req, cause, detail);
    };
    if (!gba) return refuseEnrol("NOT_AUTHENTICATED", "the request is not GBA-authenticated");
    // TS 24.109 §6.2.1, Table E.3.1-1: "response" names the desired response type; "single" is the certificate alone
    const responseType = (req.query as { response?: string }).response;
    if (responseType !== undefined && responseType !== "single") {
      return refuseEnrol("UNSUPPORTED_RESPONSE_TYPE", `response=${responseType.slice(0, 40)}: only "single" is supported`);
    }
    // other media types reach here parsed by Fastify's default parsers (JSON, text)
    if (!(req.body instanceof Uint8Array)) {
      return refuseEnrol("UNSUPPORTED_MEDIA_TYPE", `the CSR must be sent as ${CSR_CONTENT_TYPES.join(" or ")}`);
    }
    const issued = await enrolment.enrol(gba, req.body);
    if (issued.kind === "refused") return refuseEnrol(issued.cause, issued.detail);
    const { serial, obuId, vehicleId, impi } = issued.record;
    req.log.info({ serial, obuId, vehicleId, impi }, "enrolment certificate issued");
    events?.emit({
      nf: "eca",
      kind: "enrol",
      outcome: "ok",
      status: 200,
      impi,
      btid: gba.btid,
      latencyMs: performance.now() - (startedAt as number),
    });
    return reply.type(PKIX_CERT).send(Buffer.from(issued.der));
  }
});
