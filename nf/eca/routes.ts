// The Enrolment CA's HTTP resources, behind the GBA NAF plugin (GSMA IoT.04 scenario 7,
// shaped as the TS 24.109 §6 / Annex E PKI portal):
//   POST /enrol                 PKCS#10 in, enrolment certificate out (GBA-authenticated)
//   GET  /getcertificate?in=B64 the CA certificate by issuer name (GBA-authenticated, 24.109 E.5)
//   GET  /ca.pem                the CA certificate, no authentication
//   GET  /certificates          issued certificates, loopback clients only (admin)
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { NfDeps } from "../common/deps.js";
import { ProblemError } from "../common/problem.js";
import { type EnrolmentCa, issueEnrolmentCertificate } from "./ca.js";
import { CsrError, checkCsr } from "./csr.js";
import { normaliseMsisdn } from "./ids.js";
import type { EcaStore } from "./registry.js";

export interface EcaRoutesOptions {
  ca: EnrolmentCa;
  store: EcaStore;
  deps: NfDeps;
  certValidityDays: number;
}

/** TS 24.109 Table E.3.1-1 names application/x-pkcs10; RFC 5967 registers application/pkcs10. */
export const CSR_CONTENT_TYPES = ["application/x-pkcs10", "application/pkcs10"] as const;
/** RFC 2585 §4.1: one DER certificate. */
export const PKIX_CERT = "application/pkix-cert";
/** RFC 8555 §9.1: PEM certificates. */
export const PEM_CHAIN = "application/pem-certificate-chain";
export const CSR_BODY_LIMIT = 16 * 1024;

/** Application causes of the ECA's ProblemDetails, in one place so a rename is one line. */
export const ECA_CAUSES = {
  obuUnknown: "OBU_UNKNOWN",
  otherVehicle: "OBU_BOUND_TO_OTHER_VEHICLE",
  noMsisdn: "MSISDN_NOT_IN_USS",
  msisdnMismatch: "MSISDN_MISMATCH",
  responseType: "UNSUPPORTED_RESPONSE_TYPE",
  notLoopback: "ADMIN_LOOPBACK_ONLY",
  caNotFound: "CA_CERTIFICATE_NOT_FOUND",
  missingParam: "MANDATORY_IE_MISSING",
  badParam: "MANDATORY_IE_INCORRECT",
  notAuthenticated: "NOT_AUTHENTICATED",
  mediaType: "UNSUPPORTED_MEDIA_TYPE",
} as const;

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);
const MAX_SERIAL_TRIES = 3;

async function loopbackOnly(req: FastifyRequest): Promise<void> {
  if (!LOOPBACK.has(req.socket.remoteAddress ?? "")) {
    throw new ProblemError(403, ECA_CAUSES.notLoopback, "the certificate log is served to loopback clients only");
  }
}

export async function ecaRoutes(app: FastifyInstance, opts: EcaRoutesOptions): Promise<void> {
  const { ca, store, deps } = opts;
  for (const type of CSR_CONTENT_TYPES) {
    app.addContentTypeParser(type, { parseAs: "buffer", bodyLimit: CSR_BODY_LIMIT }, (_req, body, done) => done(null, body));
  }

  app.get("/ca.pem", async (_req, reply) => reply.type(PEM_CHAIN).send(ca.pem));

  app.get("/certificates", { onRequest: loopbackOnly }, async () => ({ certificates: store.listCertificates() }));

  // TS 24.109 E.5: "in" is base64 of the DER issuer name; E.6: 404 when the portal has no such CA
  app.get("/getcertificate", { onRequest: app.gbaAuthenticate }, async (req, reply) => {
    const given = (req.query as { in?: string }).in;
    if (!given)
      throw new ProblemError(400, ECA_CAUSES.missingParam, "query parameter in (base64 of the DER issuer name) is missing");
    const issuer = given.replace(/ /g, "+");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(issuer))
      throw new ProblemError(400, ECA_CAUSES.badParam, "query parameter in is not base64");
    if (!Buffer.from(issuer, "base64").equals(Buffer.from(ca.cert.subjectName.toArrayBuffer()))) {
      throw new ProblemError(404, ECA_CAUSES.caNotFound, "this ECA holds no CA certificate with that issuer name");
    }
    return reply.type(PKIX_CERT).send(Buffer.from(ca.cert.rawData));
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
    const gba = req.gba;
    if (!gba) throw new ProblemError(401, ECA_CAUSES.notAuthenticated, "the request is not GBA-authenticated");
    // TS 24.109 §6.2.1, Table E.3.1-1: "response" names the desired response type; "single" is the certificate alone
    const responseType = (req.query as { response?: string }).response;
    if (responseType !== undefined && responseType !== "single") {
      throw new ProblemError(400, ECA_CAUSES.responseType, `response=${responseType.slice(0, 40)}: only "single" is supported`);
    }
    // other media types reach here parsed by Fastify's default parsers (JSON, text)
    if (!(req.body instanceof Uint8Array)) {
      throw new ProblemError(415, ECA_CAUSES.mediaType, `the CSR must be sent as ${CSR_CONTENT_TYPES.join(" or ")}`);
    }
    let csr: Awaited<ReturnType<typeof checkCsr>>;
    try {
      csr = await checkCsr(req.body);
    } catch (err) {
      if (err instanceof CsrError) throw new ProblemError(400, err.cause_, err.message);
      throw err;
    }
    const binding = store.bindingOf(csr.obuId);
    if (!binding)
      throw new ProblemError(403, ECA_CAUSES.obuUnknown, `OBU ${csr.obuId} is not in the VehicleMan binding registry`);
    if (csr.vehicleId !== undefined && csr.vehicleId !== binding.vehicleId) {
      throw new ProblemError(403, ECA_CAUSES.otherVehicle, `OBU ${csr.obuId} is not bound to vehicle ${csr.vehicleId}`);
    }
    // the MSISDN comes from the USS the BSF returned over Zn, never from the client
    const msisdn = gba.msisdn === undefined ? undefined : normaliseMsisdn(gba.msisdn);
    if (msisdn === undefined) {
      throw new ProblemError(403, ECA_CAUSES.noMsisdn, "the bootstrapped subscriber has no MSISDN (no tel: identity in the USS)");
    }
    if (msisdn !== binding.msisdn) {
      throw new ProblemError(403, ECA_CAUSES.msisdnMismatch, `OBU ${csr.obuId} is bound to the MSISDN of another subscriber`);
    }
    for (let attempt = 0; attempt < MAX_SERIAL_TRIES; attempt++) {
      const now = deps.clock();
      const cert = await issueEnrolmentCertificate(ca, {
        publicKey: csr.publicKey,
        obuId: binding.obuId,
        vehicleId: binding.vehicleId,
        serialRandom: deps.randomBytes(16),
        now,
        validityDays: opts.certValidityDays,
      });
      const recorded = await store.recordCertificate({
        serial: cert.serialNumber.toLowerCase(),
        impi: gba.impi,
        btid: gba.btid,
        vehicleId: binding.vehicleId,
        obuId: binding.obuId,
        msisdn,
        method: gba.method,
        notBefore: cert.notBefore.toISOString(),
        notAfter: cert.notAfter.toISOString(),
        issuedAt: new Date(now).toISOString(),
      });
      if (recorded) {
        req.log.info(
          { serial: cert.serialNumber, obuId: binding.obuId, vehicleId: binding.vehicleId, impi: gba.impi },
          "enrolment certificate issued",
        );
        return reply.type(PKIX_CERT).send(Buffer.from(cert.rawData));
      }
    }
    req.log.error({ obuId: binding.obuId }, "no free certificate serial number after several draws");
    throw new Error("no free certificate serial number");
  }
}
