// Zn procedures of the BSF: bootstrapping info retrieval for a NAF (TS 33.220 §4.5.3, §5.3.3;
// TS 29.309 Nbsp_GBA). No HTTP here: a request ends in the serialised answer or a refusal with
// its cause and the reason behind it, which routes/zn.ts turns into the answer.
import { formatUtcDateTime } from "../../../gba/bootstrapping-info.js";
import { BtidError, parseBtid } from "../../../gba/btid.js";
import { deriveKsExtNaf, deriveKsIntNaf, deriveKsNaf, nafId } from "../../../gba/keys.js";
import { parseUaId } from "../../../gba/ua-id.js";
import { bytesToHex } from "../../../wire/bytes.js";
import type { Guss } from "../../../wire/zh.js";
import type { BootstrappingInfoRequest, BootstrappingInfoResponse } from "../../../wire/zn.js";
import type { BsfCause } from "../causes.js";
import type { ZnClientConfig } from "../config.js";
import type { NafRegistry } from "../naf-registry.js";
import type { BsfSession, BsfStore } from "../store.js";
import { ANSWER_CACHE_CAPACITY, ZnAnswerCache } from "../zn-answer-cache.js";

/** Why a refused request was refused: for the operator's log, never in the answer. */
export type ZnRefusalReason =
  | "no-or-unknown-token"
  | "peer-not-a-naf"
  | "other-nafs-key"
  | "btid-unknown"
  | "malformed-btid"
  | "malformed-ua-security-protocol-id";

export interface ZnRefusal {
  kind: "refused";
  cause: BsfCause;
  reason: ZnRefusalReason;
  /** the ProblemDetails detail */
  detail: string;
  invalidParams?: Array<{ param: string; reason: string }>;
  /** the IMPI of the session the request named, when it names a stored one */
  impi?: string;
}

export type ZnOutcome = { kind: "delivered"; body: Buffer } | ZnRefusal;

function invalidParam(reason: ZnRefusalReason, param: string, detail: string): ZnRefusal {
  return {
    kind: "refused",
    cause: "MANDATORY_IE_INCORRECT",
    reason,
    detail: `${param}: ${detail}`,
    invalidParams: [{ param, reason: detail }],
  };
}

const NOT_AUTHENTICATED: ZnRefusal = {
  kind: "refused",
  cause: "NAF_NOT_AUTHENTICATED",
  reason: "no-or-unknown-token",
  detail: "a configured NAF bearer token is required (Authorization: Bearer <token>)",
};

const NOT_A_NAF: ZnRefusal = {
  kind: "refused",
  cause: "NAF_NOT_AUTHENTICATED",
  reason: "peer-not-a-naf",
  detail: "this Diameter peer is not a NAF in bsf.nafs (no entry with its Origin-Host)",
};

const BTID_NOT_FOUND: ZnRefusal = {
  kind: "refused",
  cause: "BTID_NOT_FOUND",
  reason: "btid-unknown",
  detail: "no bootstrapping session for this B-TID (unknown, expired or superseded): bootstrap again",
};

/**
 * TS 33.220 §4.4.6 / TS 29.109 §6.3.1.3: only the USSs relevant to the NAF — those of the
 * requested GAA service ids (all when none requested) and, when a USS names a NAF group,
 * only to NAFs of that group.
 */
export function relevantUss(guss: Guss, naf: ZnClientConfig, gsIds: readonly number[] | undefined): Guss["ussList"] {
  const wanted = gsIds !== undefined && gsIds.length > 0 ? new Set(gsIds) : undefined;
  return guss.ussList.filter(
    ({ uss }) => (wanted === undefined || wanted.has(uss.gsId)) && (uss.nafGroup === undefined || uss.nafGroup === naf.group),
  );
}

export class ZnProcedures {
  private readonly answers: ZnAnswerCache;

  constructor(
    private readonly store: BsfStore,
    private readonly nafs: NafRegistry,
    private readonly clock: () => number,
    answerCacheCapacity = ANSWER_CACHE_CAPACITY,
  ) {
    this.answers = new ZnAnswerCache(store, answerCacheCapacity);
  }

  /** how many answers are cached */
  get cachedAnswers(): number {
    return this.answers.size;
  }

  /** TS 33.220 §4.5.3: only configured NAFs may ask; the NAF owning the bearer token of an Authorization header. */
  authenticate(authorization: string | undefined): ZnClientConfig | ZnRefusal {
    return this.nafs.authenticate(authorization) ?? NOT_AUTHENTICATED;
  }

  /** The same over Diameter: the NAF whose Origin-Host the capabilities exchange admitted. */
  authenticatePeer(originHost: string): ZnClientConfig | ZnRefusal {
    return this.nafs.byOriginHost(originHost) ?? NOT_A_NAF;
  }

  /**
   * The answer in the binding's form (HTTP: the 200 body, UTF-8 JSON; Diameter: the BIA's AVPs):
   * from the answer cache while the session is unchanged, else derived and serialised (and cached).
   * One ZnProcedures per binding, so a cache holds one form.
   */
  async retrieve(
    naf: ZnClientConfig,
    req: BootstrappingInfoRequest,
    serialize: (r: BootstrappingInfoResponse) => string | Uint8Array,
  ): Promise<ZnOutcome> {
    const now = this.clock();
    // TS 33.220 §4.4.3: the cache holds answers for NAF_Ids, shared by the NAF nodes allowed to ask
    // for them, so the authorisation comes first (derive() refuses the others)
    if (this.nafs.mayAskFor(naf, req.nafId.nafFqdn)) {
      const cached = await this.answers.lookup(naf, req, now);
      if (cached !== undefined) return { kind: "delivered", body: cached };
    }
    const derived = await this.derive(naf, req, now);
    if (derived.kind === "refused") return derived;
    const form = serialize(derived.answer);
    const body = typeof form === "string" ? Buffer.from(form, "utf8") : Buffer.from(form.buffer, form.byteOffset, form.length);
    this.answers.remember(naf, req, body, derived.expiresAt, derived.version);
    return { kind: "delivered", body };
  }

  private async derive(
    naf: ZnClientConfig,
    req: BootstrappingInfoRequest,
    now: number,
  ): Promise<{ kind: "derived"; answer: BootstrappingInfoResponse; expiresAt: number; version: Buffer } | ZnRefusal> {
    let uaId: Uint8Array;
    try {
      uaId = parseUaId(req.nafId.uaSecProtId);
    } catch (err) {
      return invalidParam("malformed-ua-security-protocol-id", "nafId/uaSecProtId", (err as Error).message);
    }
    // TS 33.220 §4.4.3: a NAF gets keys only for its own NAF_Id
    if (!this.nafs.mayAskFor(naf, req.nafId.nafFqdn)) {
      return {
        kind: "refused",
        cause: "NAF_NOT_AUTHORIZED",
        reason: "other-nafs-key",
        detail: `this NAF is not authorised for NAF FQDN ${req.nafId.nafFqdn}`,
        // for the log: whose key it asked for
        impi: (await this.store.session(req.btId, now))?.impi,
      };
    }
    // the session with its version in one read: the answer cache keeps it only while that version is stored
    const found = await this.store.versionedSession(req.btId, now);
    if (found === undefined) {
      // only a B-TID that is not stored is parsed, to tell a malformed one (400) from an unknown one (404)
      try {
        parseBtid(req.btId);
      } catch (err) {
        if (err instanceof BtidError) return invalidParam("malformed-btid", "btId", err.message);
        throw err;
      }
      return BTID_NOT_FOUND;
    }
    const { session, version } = found;
    return {
      kind: "derived",
      answer: this.keysFor(session, naf, req, nafId(req.nafId.nafFqdn, uaId)),
      expiresAt: session.expiresAt,
      version,
    };
  }

  private keysFor(s: BsfSession, naf: ZnClientConfig, req: BootstrappingInfoRequest, id: Uint8Array): BootstrappingInfoResponse {
    const out: BootstrappingInfoResponse = {
      meKeyMaterial: "",
      keyExpiryTime: formatUtcDateTime(new Date(s.expiresAt)),
      bootstrappingInfoCreationTime: formatUtcDateTime(new Date(s.createdAt)),
      gbaType: "3G_GBA",
      impi: s.impi,
    };
    // TS 29.309 §6.1.6.2.3: ussList has minItems 1, so no relevant USS means no ussList (TS 33.220
    // J.2 scenario 1: the BSF sends the keys only)
    const uss = relevantUss(s.guss, naf, req.gsIds);
    if (uss.length > 0) out.ussList = uss;
    if (s.uiccType === "GBA_U") {
      // TS 33.220 §5.3.3: Ks_ext_NAF as ME key; Ks_int_NAF only to a GBA_U-aware NAF
      out.meKeyMaterial = bytesToHex(deriveKsExtNaf(s.ks, s.rand, s.impi, id));
      if (req.gbaUAware === true && naf.gbaUAware === true)
        out.uiccKeyMaterial = bytesToHex(deriveKsIntNaf(s.ks, s.rand, s.impi, id));
    } else {
      // TS 33.220 §4.5.3: Ks_NAF
      out.meKeyMaterial = bytesToHex(deriveKsNaf(s.ks, s.rand, s.impi, id));
    }
    return out;
  }
}
