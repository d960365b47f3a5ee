// Simulation only: what the USIM sees of an AKA challenge (SQN, AMF), for traces. The ME alone
// cannot compute SQN (it needs AK = f5_K(RAND), TS 33.102 §6.3.3), so this takes K and OPc,
// which only a simulated USIM's state file can give.
import { xorBytes } from "../../wire/bytes.js";
import { Milenage } from "../../milenage/milenage.js";
import type { AkaInsight } from "./gba-middleware.js";

export function akaInsightFromKeys(k: Uint8Array, opc: Uint8Array): AkaInsight {
  const m = new Milenage(k, opc);
  return {
    // TS 33.102 §6.3.2: AUTN = SQN ⊕ AK ‖ AMF ‖ MAC (the GBA_U MAC* leaves the first 8 octets alone)
    challenge: (rand, autn) => ({ sqn: xorBytes(autn.subarray(0, 6), m.f2345(rand).ak), amf: autn.slice(6, 8) }),
    // TS 33.102 §6.3.3: AUTS = SQN_MS ⊕ AK* ‖ MAC-S, AK* = f5*_K(RAND)
    auts: (rand, auts) => ({ sqnMs: xorBytes(auts.subarray(0, 6), m.f5star(rand)), macS: auts.slice(6, 14) }),
  };
}
