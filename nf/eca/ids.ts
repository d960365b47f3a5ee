// Identifiers of the VehicleMan binding registry (GSMA IoT.04 scenario 7: vehicle ID ↔ OBU
// device ID ↔ MSISDN). IDs go into certificate subjects: the vehicle ID as X.520 serialNumber,
// which is a PrintableString of at most 64 characters (RFC 5280 Appendix A, ub-serial-number),
// so IDs are restricted to characters every PrintableString accepts.
const ID = /^[A-Za-z0-9][A-Za-z0-9.:-]{0,63}$/;

/** E.164 number without "+" (TS 29.571 Msisdn pattern: 5..15 digits). */
const MSISDN_DIGITS = /^[0-9]{5,15}$/;

export function isValidId(s: string): boolean {
  return ID.test(s);
}

export const ID_RULE = "1..64 characters A-Z a-z 0-9 . : - (starting with a letter or digit)";

/** "+4915112345678", "tel:+49...", "msisdn-49..." or plain digits to the digits; undefined if not an MSISDN. */
export function normaliseMsisdn(s: string): string | undefined {
  const digits = s
    .trim()
    .replace(/^(tel:|msisdn-)/i, "")
    .replace(/^\+/, "");
  return MSISDN_DIGITS.test(digits) ? digits : undefined;
}

export const MSISDN_RULE = "5..15 digits, optionally with a leading +";
