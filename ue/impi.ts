// Identities the ME derives from the USIM when no ISIM is present (TS 23.003 §13.3, §16.2).
import { UeError } from "./errors.js";

export class IdentityError extends UeError<"BAD_IDENTITY"> {
  constructor(message: string) {
    super("BAD_IDENTITY", message);
  }
}

const IMSI_RE = /^[0-9]{6,15}$/;

/** Splits an IMSI into MCC (3 digits), MNC (2 or 3 digits, length from EF_AD) and MSIN. */
export function splitImsi(imsi: string, mncLength: number): { mcc: string; mnc: string; msin: string } {
  if (typeof imsi !== "string" || !IMSI_RE.test(imsi)) throw new IdentityError("IMSI must be 6..15 decimal digits");
  if (mncLength !== 2 && mncLength !== 3) throw new IdentityError(`MNC length must be 2 or 3, got ${mncLength}`);
  return { mcc: imsi.slice(0, 3), mnc: imsi.slice(3, 3 + mncLength), msin: imsi.slice(3 + mncLength) };
}

/** TS 23.003 §13.3: "the MNC ... shall be represented by three digits" (2-digit MNC gets a leading 0). */
function mnc3(mnc: string): string {
  return mnc.padStart(3, "0");
}

/**
 * TS 23.003 §13.3: IMPI derived from the IMSI, `<IMSI>@ims.mnc<MNC>.mcc<MCC>.3gppnetwork.org`,
 * e.g. 234150999999999@ims.mnc015.mcc234.3gppnetwork.org.
 */
export function impiFromImsi(imsi: string, mncLength: number): string {
  const { mcc, mnc } = splitImsi(imsi, mncLength);
  return `${imsi}@ims.mnc${mnc3(mnc)}.mcc${mcc}.3gppnetwork.org`;
}

/** TS 23.003 §16.2: BSF FQDN from the IMSI, `bsf.mnc<MNC>.mcc<MCC>.pub.3gppnetwork.org`. */
export function bsfFqdnFromImsi(imsi: string, mncLength: number): string {
  const { mcc, mnc } = splitImsi(imsi, mncLength);
  return `bsf.mnc${mnc3(mnc)}.mcc${mcc}.pub.3gppnetwork.org`;
}
