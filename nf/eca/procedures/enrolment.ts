// The enrolment procedures of the Enrolment CA (GSMA IoT.04 scenario 7, shaped as the TS 24.109
// §6 / Annex E PKI portal), without transport: a checked CSR from a GBA-authenticated subscriber
// becomes an enrolment certificate, recorded before it is returned. Refusals are tagged outcomes
// carrying their cause; the routes map them to HTTP.
import type { NfDeps } from "../../common/deps.js";
import type { GbaIdentity } from "../../naf/index.js";
import { type EnrolmentCa, issueEnrolmentCertificate } from "../ca.js";
import type { EcaCause } from "../causes.js";
import { CsrError, checkCsr } from "../csr.js";
import { normaliseMsisdn } from "../ids.js";
import type { VehicleBinding } from "../bindings.js";
import type { EcaStore, IssuedCertificate, Page } from "../store.js";

export type Refused = { kind: "refused"; cause: EcaCause; detail: string };

const MAX_SERIAL_TRIES = 3;

const refused = (cause: EcaCause, detail: string): Refused => ({ kind: "refused", cause, detail });

export interface EnrolmentOptions {
  ca: EnrolmentCa;
  store: EcaStore;
  deps: NfDeps;
  /** validity of issued certificates, days (capped at the CA's own) */
  certValidityDays: number;
}

export class EnrolmentProcedures {
  constructor(private readonly o: EnrolmentOptions) {}

  /** the CA certificate as PEM (GET /ca.pem) */
  get caPem(): string {
    return this.o.ca.pem;
  }

  /** The certificate log, newest first, one page after the cursor `after`. */
  certificates(limit: number, after?: string): Promise<Page<IssuedCertificate>> {
    return this.o.store.certificatesPage(limit, after);
  }

  /** The VehicleMan binding registry by OBU ID, one page after the OBU ID `after`. */
  bindings(limit: number, after?: string): Promise<Page<VehicleBinding>> {
    return this.o.store.bindingsPage(limit, after);
  }

  /** TS 24.109 E.5: the CA certificate (DER) whose subject is `issuer`, base64 of the DER name; E.6: not found. */
  caCertificate(issuer: string | undefined): { kind: "found"; der: Uint8Array } | Refused {
    if (!issuer) return refused("MANDATORY_IE_MISSING", "query parameter in (base64 of the DER issuer name) is missing");
    // a "+" in an unencoded query arrives as a space
    const b64 = issuer.replace(/ /g, "+");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return refused("MANDATORY_IE_INCORRECT", "query parameter in is not base64");
    const ca = this.o.ca.cert;
    if (!Buffer.from(b64, "base64").equals(Buffer.from(ca.subjectName.toArrayBuffer()))) {
      return refused("CA_CERTIFICATE_NOT_FOUND", "this ECA holds no CA certificate with that issuer name");
    }
    return { kind: "found", der: new Uint8Array(ca.rawData) };
  }

  /**
   * GSMA IoT.04 scenario 7: the CSR's OBU must be bound to a vehicle (the one the CSR names, if
   * it names one) and to the MSISDN of the bootstrapped subscriber, which comes from the USS the
   * BSF returned over Zn, never from the client.
   */
  async enrol(
    gba: GbaIdentity,
    csrBody: Uint8Array,
  ): Promise<{ kind: "issued"; der: Uint8Array; record: IssuedCertificate } | Refused> {
    let csr: Awaited<ReturnType<typeof checkCsr>>;
    try {
      csr = await checkCsr(csrBody);
    } catch (err) {
      if (err instanceof CsrError) return refused(err.cause_, err.message);
      throw err;
    }
    const { store, ca, deps } = this.o;
    const binding = await store.bindingOf(csr.obuId);
    if (!binding) return refused("OBU_UNKNOWN", `OBU ${csr.obuId} is not in the VehicleMan binding registry`);
    if (csr.vehicleId !== undefined && csr.vehicleId !== binding.vehicleId) {
      return refused("OBU_BOUND_TO_OTHER_VEHICLE", `OBU ${csr.obuId} is not bound to vehicle ${csr.vehicleId}`);
    }
    const msisdn = gba.msisdn === undefined ? undefined : normaliseMsisdn(gba.msisdn);
    if (msisdn === undefined) {
      return refused("MSISDN_NOT_IN_USS", "the bootstrapped subscriber has no MSISDN (no tel: identity in the USS)");
    }
    if (msisdn !== binding.msisdn) {
      return refused("MSISDN_MISMATCH", `OBU ${csr.obuId} is bound to the MSISDN of another subscriber`);
    }
    for (let attempt = 0; attempt < MAX_SERIAL_TRIES; attempt++) {
      const now = deps.clock();
      const cert = await issueEnrolmentCertificate(ca, {
        publicKey: csr.publicKey,
        obuId: binding.obuId,
        vehicleId: binding.vehicleId,
        serialRandom: deps.randomBytes(16),
        now,
        validityDays: this.o.certValidityDays,
      });
      const record: IssuedCertificate = {
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
      };
      // recorded before it is returned: a certificate the log does not hold is never handed out
      if (await store.recordCertificate(record)) return { kind: "issued", der: new Uint8Array(cert.rawData), record };
    }
    throw new Error(`no free certificate serial number for OBU ${binding.obuId} after ${MAX_SERIAL_TRIES} draws`);
  }
}
