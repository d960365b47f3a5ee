// The Zn client a NAF application starts with, by its section's `zn` setting: SBI (TS 29.309,
// bearer token to bsfUrl) or Diameter (TS 29.109, its own node and the BSF peer). The NAF, its
// proxy and the ECA start theirs here.
import type { Clock } from "../../wire/deps.js";
import type { DiameterClientConfig, DiameterLogger } from "../common/diameter/index.js";
import type { Capture } from "../common/capture/index.js";
import type { ZnBinding } from "./config.js";
import { createZnClient, type ZnClientHandle } from "./zn-client.js";
import { createDiameterZnClient } from "./zn-client-diameter.js";

export interface ZnSettings {
  zn: ZnBinding;
  bsfUrl: string;
  znToken: string;
  diameter: DiameterClientConfig;
}

export interface ZnStartOptions {
  timeoutMs: number;
  gbaUAware: boolean;
  clock?: Clock;
  log: DiameterLogger;
  capture?: Capture;
}

/** The NF's Zn client; over Diameter, resolves once the BSF is connected or after `timeoutMs` (then retried after Tc). */
export async function startZnClient(s: ZnSettings, o: ZnStartOptions): Promise<ZnClientHandle> {
  if (s.zn === "sbi") {
    return createZnClient({
      bsfUrl: s.bsfUrl,
      token: s.znToken,
      timeoutMs: o.timeoutMs,
      gbaUAware: o.gbaUAware,
      clock: o.clock,
      capture: o.capture,
    });
  }
  const client = createDiameterZnClient({
    diameter: s.diameter,
    timeoutMs: o.timeoutMs,
    gbaUAware: o.gbaUAware,
    clock: o.clock,
    logger: o.log,
    tap: o.capture?.diameterTap("Zn Diameter"),
  });
  await client.node.waitOpen(s.diameter.peer.originHost, o.timeoutMs).catch((err: Error) => {
    o.log.warn({ bsf: s.diameter.peer.originHost, error: err.message }, "Zn over Diameter: the BSF is not connected yet");
  });
  return client;
}
