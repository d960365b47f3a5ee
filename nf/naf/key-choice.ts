// The key choice of a GBA_U subscription (TS 33.220 §4.4.6; TS 29.309 Uss keyChoice): the USS of a
// service may say whether its NAF uses the ME-based key (Ks_ext_NAF), the UICC-based key
// (Ks_int_NAF) or either. The NAF honours it whatever realms it offers: a subscription that wants
// the UICC-based key is not served with the ME-based one because the NAF's realm option allows it.

/** Which NAF key a request used: "me" for Ks_NAF / Ks_ext_NAF, "uicc" for Ks_int_NAF. */
export type NafKeySide = "me" | "uicc";

const ALLOWS: Readonly<Record<string, readonly NafKeySide[]>> = {
  ME_BASED_KEY: ["me"],
  UICC_BASED_KEY: ["uicc"],
  ME_UICC_BASED_KEYS: ["me", "uicc"],
};

/**
 * The keyChoice of a USS the BSF returned that forbids `side`, or undefined when every USS that
 * names a choice allows it. A value the extensible enumeration may grow is not ours to judge.
 */
export function keyChoiceForbidding(ussList: readonly unknown[], side: NafKeySide): string | undefined {
  for (const item of ussList) {
    const choice = (item as { uss?: { keyChoice?: unknown } } | null)?.uss?.keyChoice;
    if (typeof choice !== "string") continue;
    const allowed = ALLOWS[choice];
    if (allowed !== undefined && !allowed.includes(side)) return choice;
  }
  return undefined;
}
