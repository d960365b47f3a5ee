// The authenticated subscriber as the application sees it (request.gba), built from a Zn answer.
import { bytesToHex } from "../../wire/bytes.js";
import type { ZnAnswer } from "./zn-client.js";

export type GbaKeyKind = "ks-naf" | "ks-ext-naf" | "ks-int-naf";

export interface GbaIdentity {
  btid: string;
  impi: string;
  /** public identities (IMPUs) of the USSs the BSF returned, in order, without duplicates */
  impus: string[];
  /** digits of the first tel:+<digits> IMPU (HSS convention for the MSISDN) */
  msisdn?: string;
  ussList: unknown[];
  /** the NAF_Id the key was derived for (TS 33.220 B.3, H.3) */
  nafId: { nafFqdn: string; uaSecProtId: string };
  keyExpiryTime: string;
  bootstrappingInfoCreationTime?: string;
  method: "digest" | "tls-psk";
  keyKind: GbaKeyKind;
}

const TEL = /^tel:\+(\d{1,15})$/;

/** ueIds of every USS (TS 29.309 Uss.ueIds[].ueId), in order, without duplicates. */
export function impusOf(ussList: unknown[]): string[] {
  const out: string[] = [];
  for (const item of ussList) {
    const uss = (item as { uss?: { ueIds?: unknown } } | null)?.uss;
    const ueIds = uss?.ueIds;
    if (!Array.isArray(ueIds)) continue;
    for (const u of ueIds) {
      const id = (u as { ueId?: unknown } | null)?.ueId;
      if (typeof id === "string" && id !== "" && !out.includes(id)) out.push(id);
    }
  }
  return out;
}

/**
 * The key kind a realm / PSK hint selects: Ks_int_NAF for the -uicc realm; otherwise the ME key,
 * which is Ks_ext_NAF when the BSF also returned Ks_int_NAF (a GBA_U subscriber), else Ks_NAF.
 */
export function meKeyKind(answer: ZnAnswer): GbaKeyKind {
  return answer.uiccKeyMaterial ? "ks-ext-naf" : "ks-naf";
}

const memo = new WeakMap<ZnAnswer, Map<string, GbaIdentity>>();

/** request.gba for a Zn answer; one frozen object per (answer, method, key kind). */
export function identityFrom(answer: ZnAnswer, method: GbaIdentity["method"], keyKind: GbaKeyKind): GbaIdentity {
  let byKind = memo.get(answer);
  if (!byKind) {
    byKind = new Map();
    memo.set(answer, byKind);
  }
  const k = `${method}/${keyKind}`;
  const hit = byKind.get(k);
  if (hit) return hit;
  const impus = impusOf(answer.ussList);
  const tel = impus.map((i) => TEL.exec(i)).find((m) => m !== null);
  const identity: GbaIdentity = Object.freeze({
    btid: answer.btid,
    impi: answer.impi,
    impus,
    msisdn: tel ? tel[1] : undefined,
    ussList: answer.ussList,
    nafId: { nafFqdn: answer.nafFqdn, uaSecProtId: bytesToHex(answer.uaId) },
    keyExpiryTime: answer.keyExpiryTime,
    bootstrappingInfoCreationTime: answer.bootstrappingInfoCreationTime,
    method,
    keyKind,
  });
  byKind.set(k, identity);
  return identity;
}
