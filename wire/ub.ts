// Tokens of Ub and Ua that the UE and the network functions both write or read (TS 24.109).

/** TS 24.109 §5.2.4: a NAF realm with this prefix asks for Ks_(ext)_NAF (the ME's key). */
export const REALM_PREFIX_ME = "3GPP-bootstrapping@";
/** TS 24.109 §5.2.4: a NAF realm with this prefix asks for Ks_int_NAF (GBA_U, stays on the UICC). */
export const REALM_PREFIX_UICC = "3GPP-bootstrapping-uicc@";

/**
 * User-Agent product tokens: "3gpp-gba" announces GBA support on Ua (TS 24.109 §5.2.1),
 * "3gpp-gba-uicc" a GBA_U capable UICC and "3gpp-gba-tmpi" TMPI support on Ub (TS 24.109 A.3,
 * TS 33.220 B.4).
 */
export const PRODUCT_TOKEN = {
  GBA: "3gpp-gba",
  GBA_UICC: "3gpp-gba-uicc",
  GBA_TMPI: "3gpp-gba-tmpi",
} as const;

export type ProductToken = (typeof PRODUCT_TOKEN)[keyof typeof PRODUCT_TOKEN];

/** A User-Agent with a product token appended ("<agent>; <token>"). */
export function withProductToken(userAgent: string, token: ProductToken): string {
  return `${userAgent}; ${token}`;
}

/** Which of `wanted` a User-Agent announces (case-insensitive, as words between ; , ( ) and spaces). */
export function productTokens<T extends ProductToken>(userAgent: string | undefined, wanted: readonly T[]): T[] {
  if (!userAgent) return [];
  const words = new Set(userAgent.toLowerCase().split(/[\s;,()]+/));
  return wanted.filter((t) => words.has(t));
}
