// A bootstrapped UE for benchmarks against an external NAF or ECA: the simulated USIM of a
// provisioned subscriber (gba usim new), the device middleware bootstrapping over Ub with the
// given BSF, and the NAF keys derived from that one bootstrapping (IoT.04 A3).
import type { UaId } from "../../gba/ua-id.js";
import { bytesToHex } from "../../wire/bytes.js";
import { openUe } from "../../ue/open-ue.js";
import { type BenchOptions, BenchSetupError } from "./options.js";

export interface BootstrappedUe {
  btid: string;
  impi: string;
  /** Ks_(ext)_NAF per Ua id (hex) */
  keys: Map<string, Uint8Array>;
}

export async function bootstrapUe(o: {
  bsfUrl: string;
  usimFile: string;
  nafFqdn: string;
  uaIds: UaId[];
}): Promise<BootstrappedUe> {
  const ue = await openUe({ card: { kind: "simulated", file: o.usimFile }, bsfUrl: o.bsfUrl });
  try {
    const info = await ue.middleware.bootstrap();
    const keys = new Map<string, Uint8Array>();
    for (const uaId of o.uaIds) keys.set(bytesToHex(uaId), (await ue.middleware.getKsNaf(o.nafFqdn, uaId)).key);
    return { btid: info.btid, impi: info.impi, keys };
  } finally {
    await ue.close({ powerDown: true });
  }
}

/** The BSF and USIM an external Ua benchmark bootstraps with (--bsf, --usim). */
export function externalUe(o: BenchOptions, bench: string): { bsf: string; usim: string } {
  if (o.bsf === undefined)
    throw new BenchSetupError(`bench ${bench} --target needs --bsf URL (Ub of the BSF the UE bootstraps with)`);
  if (o.usims.length === 0)
    throw new BenchSetupError(`bench ${bench} --target needs --usim FILE (a provisioned subscriber's USIM)`);
  return { bsf: o.bsf, usim: o.usims[0] };
}
