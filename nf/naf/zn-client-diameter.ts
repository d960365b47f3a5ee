// Zn client over Diameter (TS 29.109 §6, §6.1): the NAF's own Diameter node connects to the BSF
// peer (CER/CEA, watchdog, reconnection after Tc) and asks with Bootstrapping-Info-Requests.
// Behind the ZnClient interface of zn-client.ts, with its cache and its typed failures:
// Experimental-Result 10415:5403 is an unknown or expired B-TID, 10415:5402 a refusal of this NAF
// (TS 29.109 §6.2.2.2, §6.2.2.3); no open connection, a timeout, an unreadable answer or any
// other result make the BSF unavailable.
import {
  APP_ZN,
  type BiaAnswer,
  DiameterError,
  EXPERIMENTAL_RESULT_3GPP,
  encodeBir,
  formatSessionId,
  isSuccess,
  parseBia,
  resultName,
  VENDOR_3GPP,
} from "../../wire/diameter/index.js";
import type { Clock } from "../../wire/deps.js";
import {
  connectingPeer,
  type DiameterClientConfig,
  DiameterNode,
  type DiameterLogger,
  type MessageTap,
  nodeIdentity,
} from "../common/diameter/index.js";
import {
  BsfUnavailable,
  BtidUnknown,
  cachingZnClient,
  NafNotAuthorized,
  type ZnAnswer,
  type ZnClientHandle,
} from "./zn-client.js";

export interface DiameterZnClientOptions {
  /** this NAF's identity, the BSF peer and the timers (naf.diameter) */
  diameter: DiameterClientConfig;
  /** per-request timeout in ms (default 2000) */
  timeoutMs?: number;
  /** GBA_U-Awareness-Indicator YES: the NAF can use Ks_int_NAF */
  gbaUAware?: boolean;
  /** GAA-Service-Identifiers to ask USSs for */
  gsIds?: number[];
  maxEntries?: number;
  clock?: Clock;
  logger?: DiameterLogger;
  tap?: MessageTap;
}

export interface DiameterZnClientHandle extends ZnClientHandle {
  /** the NAF's Diameter node (its peer table and connection state) */
  readonly node: DiameterNode;
}

/** The answer as the NAF uses it, in the shape the SBI binding decodes to. */
function toAnswer(bia: BiaAnswer, btid: string, nafFqdn: string, uaId: Uint8Array): ZnAnswer {
  if (bia.meKeyMaterial === undefined) throw new BsfUnavailable("the BSF's BIA has no ME-Key-Material");
  if (bia.keyExpiryTime === undefined) throw new BsfUnavailable("the BSF's BIA has no Key-ExpiryTime");
  if (bia.impi === undefined || bia.impi === "") throw new BsfUnavailable("the BSF's BIA has no User-Name (IMPI)");
  return {
    btid,
    nafFqdn,
    uaId: uaId.slice(),
    meKeyMaterial: bia.meKeyMaterial,
    uiccKeyMaterial: bia.uiccKeyMaterial,
    impi: bia.impi,
    ussList: bia.ussList ?? [],
    gbaType: bia.gbaType ?? "3G_GBA",
    keyExpiryTime: new Date(bia.keyExpiryTime).toISOString(),
    expiresAt: bia.keyExpiryTime,
    bootstrappingInfoCreationTime:
      bia.bootstrapInfoCreationTime === undefined ? undefined : new Date(bia.bootstrapInfoCreationTime).toISOString(),
  };
}

/** Creates the NAF's Diameter node, connects it to the BSF and returns the Zn client over it. */
export function createDiameterZnClient(o: DiameterZnClientOptions): DiameterZnClientHandle {
  const d = o.diameter;
  const bsf = d.peer;
  const timeoutMs = o.timeoutMs ?? 2000;
  const node = new DiameterNode({
    ...nodeIdentity(d),
    applications: [APP_ZN],
    peers: [connectingPeer(bsf)],
    logger: o.logger,
    tap: o.tap,
    ...(o.clock ? { clock: o.clock } : {}),
  });
  node.start();
  let session = 0;

  async function ask(btid: string, nafFqdn: string, uaId: Uint8Array): Promise<ZnAnswer> {
    let bia: BiaAnswer;
    try {
      const answer = await node.request(
        APP_ZN,
        (ids) =>
          encodeBir(
            {
              ...node.origin,
              // RFC 6733 §8.8: unique per node and boot
              sessionId: formatSessionId(node.origin.originHost, node.originStateId, ++session),
              destinationRealm: bsf.realm,
              destinationHost: bsf.originHost,
              btid,
              nafId: { fqdn: nafFqdn, uaId },
              ...(o.gbaUAware !== undefined ? { gbaUAware: o.gbaUAware } : {}),
              ...(o.gsIds?.length ? { gsIds: o.gsIds } : {}),
            },
            ids,
          ),
        { peer: bsf.originHost, timeoutMs },
      );
      bia = parseBia(answer);
    } catch (err) {
      if (err instanceof DiameterError) throw new BsfUnavailable(`the BSF answered an unreadable BIA: ${err.message}`);
      throw new BsfUnavailable(`Zn (Diameter) request to ${bsf.originHost} failed: ${(err as Error).message}`);
    }
    const r = bia.result;
    if (r.vendorId === VENDOR_3GPP && r.code === EXPERIMENTAL_RESULT_3GPP.TRANSACTION_IDENTIFIER_INVALID) throw new BtidUnknown();
    if (r.vendorId === VENDOR_3GPP && r.code === EXPERIMENTAL_RESULT_3GPP.NOT_AUTHORIZED) throw new NafNotAuthorized();
    if (!isSuccess(r)) throw new BsfUnavailable(`the BSF answered ${resultName(r.code, r.vendorId)}`);
    return toAnswer(bia, btid, nafFqdn, uaId);
  }

  const client = cachingZnClient(ask, o, () => node.close());
  return Object.assign(client, { node });
}
