// Zn: bootstrapping info retrieval for a NAF (TS 33.220 §4.5.3, §5.3.3; TS 29.309 Nbsp_GBA).
import { formatUtcDateTime } from "../../../gba/bootstrapping-info.js";
import { BtidError, parseBtid } from "../../../gba/btid.js";
import { deriveKsExtNaf, deriveKsIntNaf, deriveKsNaf, nafId } from "../../../gba/keys.js";
import { parseUaId } from "../../../gba/ua-id.js";
import { bytesToHex } from "../../../wire/bytes.js";
import type { ZnClientConfig } from "../config.js";
import { ProblemError } from "../../common/problem.js";
import { BSF_CAUSE } from "../causes.js";
import type { BootstrapSession, SessionStore } from "../session-store.js";
import type { Guss } from "../../../wire/zh.js";
import type { BootstrappingInfoRequest, BootstrappingInfoResponse } from "../../../wire/zn.js";
import { ANSWER_CACHE_CAPACITY, ZnAnswerCache } from "./answer-cache.js";
import type { NafRegistry } from "./naf-auth.js";

function invalidParam(param: string, detail: string): ProblemError {
  return new ProblemError(400, BSF_CAUSE.MANDATORY_IE_INCORRECT, `${param}: ${detail}`, {
    invalidParams: [{ param, reason: detail }],
  });
}

function btidNotFound(): ProblemError {
  return new ProblemError(
    404,
    BSF_CAUSE.BTID_NOT_FOUND,
    "no bootstrapping session for this B-TID (unknown, expired or superseded): bootstrap again",
  );
}

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
    private readonly sessions: SessionStore,
    private readonly nafs: NafRegistry,
    private readonly clock: () => number,
    answerCacheCapacity = ANSWER_CACHE_CAPACITY,
  ) {
    this.answers = new ZnAnswerCache(sessions, answerCacheCapacity);
  }

  /** how many answers are cached */
  get cachedAnswers(): number {
    return this.answers.size;
  }

  /**
   * The 200 body, UTF-8 JSON: from the answer cache while the session is unchanged, else derived
   * and serialised (and cached).
   */
  retrieveBody(naf: ZnClientConfig, req: BootstrappingInfoRequest, serialize: (r: BootstrappingInfoResponse) => string): Buffer {
    const now = this.clock();
    const cached = this.answers.lookup(naf, req, now);
    if (cached !== undefined) return cached;
    // read before the session itself: a replacement in between then shows as a changed record
    const view = this.sessions.storedRecordView(req.btId);
    const record = view === undefined ? undefined : Buffer.from(view);
    const { answer, expiresAt } = this.retrieve(naf, req, now);
    const body = Buffer.from(serialize(answer), "utf8");
    if (record !== undefined) this.answers.remember(naf, req, body, expiresAt, record);
    return body;
  }

  private retrieve(
    naf: ZnClientConfig,
    req: BootstrappingInfoRequest,
    now: number,
  ): { answer: BootstrappingInfoResponse; expiresAt: number } {
    let uaId: Uint8Array;
    try {
      uaId = parseUaId(req.nafId.uaSecProtId);
    } catch (err) {
      throw invalidParam("nafId/uaSecProtId", (err as Error).message);
    }
    // TS 33.220 §4.4.3: a NAF gets keys only for its own NAF_Id
    if (!this.nafs.mayAskFor(naf, req.nafId.nafFqdn)) {
      throw new ProblemError(403, BSF_CAUSE.NAF_NOT_AUTHORIZED, `this NAF is not authorised for NAF FQDN ${req.nafId.nafFqdn}`);
    }
    const session = this.sessions.get(req.btId, now);
    if (session === undefined) {
      // only a B-TID that is not stored is parsed, to tell a malformed one (400) from an unknown one (404)
      try {
        parseBtid(req.btId);
      } catch (err) {
        if (err instanceof BtidError) throw invalidParam("btId", err.message);
        throw err;
      }
      throw btidNotFound();
    }
    return { answer: this.keysFor(session, naf, req, nafId(req.nafId.nafFqdn, uaId)), expiresAt: session.expiresAt };
  }

  private keysFor(
    s: BootstrapSession,
    naf: ZnClientConfig,
    req: BootstrappingInfoRequest,
    id: Uint8Array,
  ): BootstrappingInfoResponse {
    const out: BootstrappingInfoResponse = {
      meKeyMaterial: "",
      keyExpiryTime: formatUtcDateTime(new Date(s.expiresAt)),
      bootstrappingInfoCreationTime: formatUtcDateTime(new Date(s.createdAt)),
      ussList: relevantUss(s.guss, naf, req.gsIds),
      gbaType: "3G_GBA",
      impi: s.impi,
    };
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
