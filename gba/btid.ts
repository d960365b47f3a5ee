// B-TID (TS 33.220 §4.5.2), the TLS-PSK identity for Ua (TS 33.222 §5.4) and TMPI (TS 33.220 B.4).
import { bytesToBase64 } from "../wire/bytes.js";
import { DNS_NAME_MAX_LENGTH, isDnsName } from "../wire/dns.js";
import { deriveKsNaf, nafId, RAND_LENGTH } from "./keys.js";
import { UA_ID } from "./ua-id.js";

/** EF_GBABP stores the B-TID behind a one-octet length (TS 31.102 §4.2.79). */
export const BTID_MAX_LENGTH = 255;

export type BtidErrorCode = "BAD_BTID";

export class BtidError extends Error {
  readonly code: BtidErrorCode = "BAD_BTID";
  constructor(message: string) {
    super(`malformed B-TID: ${message}`);
    this.name = "BtidError";
  }
}

const RAND_B64_LENGTH = 24;
const B64_RAND = /^[A-Za-z0-9+/]{22}==$/;
function checkHost(host: string, what: string): void {
  if (host === "" || host.length > DNS_NAME_MAX_LENGTH)
    throw new BtidError(`${what} must be a DNS name of 1..${DNS_NAME_MAX_LENGTH} characters`);
  if (!isDnsName(host)) throw new BtidError(`${what} "${host}" is not a DNS name`);
}

/** TS 33.220 §4.5.2: B-TID = base64(RAND) "@" BSF server name (RFC 4648 standard alphabet, padded). */
export function makeBtid(rand: Uint8Array, bsfFqdn: string): string {
  if (!(rand instanceof Uint8Array) || rand.length !== RAND_LENGTH) throw new RangeError("RAND must be 16 octets");
  checkHost(bsfFqdn, "BSF FQDN");
  return `${bytesToBase64(rand)}@${bsfFqdn}`;
}

/**
 * Splits a B-TID into RAND and the BSF host. The host is opaque (it names the BSF to ask over Zn)
 * and may differ from the Ub realm; it is only checked to be a DNS name.
 */
export function parseBtid(btid: string): { rand: Uint8Array; bsfHost: string } {
  if (typeof btid !== "string") throw new BtidError("not a string");
  if (btid.length > BTID_MAX_LENGTH) throw new BtidError(`longer than ${BTID_MAX_LENGTH} characters`);
  const at = btid.indexOf("@");
  if (at < 0) throw new BtidError('no "@" between base64(RAND) and the BSF host');
  const local = btid.slice(0, at);
  const bsfHost = btid.slice(at + 1);
  if (local.length !== RAND_B64_LENGTH || !B64_RAND.test(local)) {
    throw new BtidError("the part before \"@\" is not base64 of a 16-octet RAND (24 characters ending in '==')");
  }
  const rand = new Uint8Array(Buffer.from(local, "base64"));
  if (Buffer.from(rand).toString("base64") !== local) throw new BtidError("base64(RAND) is not in canonical form");
  checkHost(bsfHost, "BSF host");
  return { rand, bsfHost };
}

/** TS 33.222 §5.4 (TS 36.508 Table 4.7H-3): psk_identity_hint sent by the NAF. */
export const PSK_IDENTITY_HINT = "3GPP-bootstrapping";
const PSK_IDENTITY_PREFIX = `${PSK_IDENTITY_HINT}.`;

/** TS 33.222 §5.4 (TS 36.508 Table 4.7H-5): psk_identity = "3GPP-bootstrapping" "." B-TID. */
export function pskIdentity(btid: string): string {
  return PSK_IDENTITY_PREFIX + btid;
}

/** The B-TID inside a GBA psk_identity, or undefined when the identity is not a GBA one. */
export function parsePskIdentity(identity: string): string | undefined {
  if (typeof identity !== "string" || !identity.startsWith(PSK_IDENTITY_PREFIX)) return undefined;
  const btid = identity.slice(PSK_IDENTITY_PREFIX.length);
  return btid === "" ? undefined : btid;
}

/** TS 33.220 B.4: TMPI realm. */
export const TMPI_REALM = "tmpi.bsf.3gppnetwork.org";
const TMPI_OCTETS = 24;

/**
 * TS 33.220 B.4: TMPI = base64(24 most significant octets of KDF(Ks, "gba-me", RAND, IMPI, BSF_Id))
 * "@tmpi.bsf.3gppnetwork.org", BSF_Id = BSF FQDN (as in the B-TID) || 01 00 00 01 00. It is the
 * Ks_NAF procedure of B.3 with BSF_Id in place of NAF_Id (for GBA_U: the Ks_ext_NAF procedure).
 */
export function deriveTmpi(ks: Uint8Array, rand: Uint8Array, impi: string, bsfFqdn: string): string {
  return tmpiFromKey(deriveKsNaf(ks, rand, impi, tmpiBsfId(bsfFqdn)));
}

/** TS 33.220 B.4: BSF_Id = BSF FQDN (as in the B-TID) || Ua id 01 00 00 01 00, the NAF_Id of the TMPI derivation. */
export function tmpiBsfId(bsfFqdn: string): Uint8Array {
  return nafId(bsfFqdn, UA_ID.TMPI);
}

/** TS 33.220 B.4: the TMPI from the derived key (Ks_NAF, or Ks_ext_NAF from the UICC for GBA_U). */
export function tmpiFromKey(key: Uint8Array): string {
  return `${bytesToBase64(key.subarray(0, TMPI_OCTETS))}@${TMPI_REALM}`;
}
