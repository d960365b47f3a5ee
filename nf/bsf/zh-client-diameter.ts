// Zh consumer over Diameter (TS 29.109 §5, §6.1): one Multimedia-Auth-Request to the HSS peer
// gives the vector and the GUSS together. Behind the ZhClient interface of zh-client.ts, with the
// same failures: Experimental-Result 10415:5401 is an unknown user, an authentication or
// authorisation rejection a refused vector, anything else (no open connection, a timeout, an
// unreadable answer, another result) an unavailable HSS.
//
// TS 29.109 §4.2.2 GUSS-Timestamp: the client keeps the last GUSS of each IMPI with the time it
// arrived, sends that time, and an HSS whose GUSS has not changed since may leave it out.
import {
  APP_ZH,
  DiameterError,
  EXPERIMENTAL_RESULT_3GPP,
  encodeMar,
  formatSessionId,
  isSuccess,
  parseMaa,
  RESULT,
  resultName,
  VENDOR_3GPP,
} from "../../wire/diameter/index.js";
import type { Guss } from "../../wire/zh.js";
import type { DiameterNode, DiameterPeerSetting } from "../common/diameter/index.js";
import { gussCache, ZhError, type ZhClient } from "./zh-client.js";

export interface DiameterZhClientOptions {
  /** the HSS: Destination-Host and Destination-Realm of every MAR */
  hss: DiameterPeerSetting;
  timeoutMs: number;
  clock: () => number;
  /** GUSSs remembered for GUSS-Timestamp (default DEFAULT_GUSS_ENTRIES; least recently used out; 0 none) */
  gussEntries?: number;
}

/** TS 29.109 §6.1: the HSS may answer without a GUSS; the BSF's local default then applies. */
const NO_GUSS: Guss = { bsfInfo: { uiccType: "GBA" }, ussList: [] };

export function createDiameterZhClient(node: DiameterNode, o: DiameterZhClientOptions): ZhClient {
  const gusses = gussCache<{ guss: Guss; at: number }>(o.gussEntries);
  let session = 0;

  return {
    async authData(impi, resync) {
      const held = gusses?.get(impi);
      const sentAt = o.clock();
      let answer: Awaited<ReturnType<DiameterNode["request"]>>;
      try {
        answer = await node.request(
          APP_ZH,
          (ids) =>
            encodeMar(
              {
                ...node.origin,
                // RFC 6733 §8.8: unique per node and boot
                sessionId: formatSessionId(node.origin.originHost, node.originStateId, ++session),
                destinationRealm: o.hss.realm,
                destinationHost: o.hss.originHost,
                impi,
                ...(resync ? { resync } : {}),
                ...(held ? { gussTimestamp: held.at } : {}),
              },
              ids,
            ),
          { peer: o.hss.originHost, timeoutMs: o.timeoutMs },
        );
      } catch (err) {
        throw new ZhError("UNAVAILABLE", `HSS not reachable on Zh (Diameter): ${(err as Error).message}`);
      }
      let maa: ReturnType<typeof parseMaa>;
      try {
        maa = parseMaa(answer);
      } catch (err) {
        if (err instanceof DiameterError) throw new ZhError("UNAVAILABLE", `HSS answer is malformed: ${err.message}`);
        throw err;
      }
      const r = maa.result;
      if (r.vendorId === VENDOR_3GPP && r.code === EXPERIMENTAL_RESULT_3GPP.IDENTITY_UNKNOWN)
        throw new ZhError("USER_UNKNOWN", "HSS: DIAMETER_ERROR_IDENTITY_UNKNOWN (5401)");
      if (r.vendorId === 0 && (r.code === RESULT.AUTHENTICATION_REJECTED || r.code === RESULT.AUTHORIZATION_REJECTED))
        throw new ZhError("REJECTED", `HSS: ${resultName(r.code)}`);
      if (!isSuccess(r) || maa.av === undefined)
        throw new ZhError("UNAVAILABLE", `HSS answered ${resultName(r.code, r.vendorId)}`);
      let guss = maa.guss;
      if (guss) gusses?.set(impi, { guss, at: sentAt });
      else guss = held?.guss ?? NO_GUSS;
      return { av: maa.av, guss };
    },
    // the node belongs to the BSF: closed with it
    close: async () => {},
  };
}
