// The one DNS-name rule of the project: a host name as RFC 1123 §2.1 restates RFC 952 —
// labels of letters, digits and '-' (1..63 characters, neither starting nor ending with '-'),
// separated by dots, at most 253 characters in all (RFC 1035 §2.3.4). BSF and NAF FQDNs, the
// BSF host of a B-TID (TS 33.220 §4.5.2) and the NAF FQDN of a Zn request follow it.

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

/** The rule as a JSON-schema `pattern` (with maxLength 253 beside it). */
export const DNS_NAME_PATTERN = `^${LABEL}(?:\\.${LABEL})*$`;

export const DNS_NAME_MAX_LENGTH = 253;

const DNS_NAME = new RegExp(DNS_NAME_PATTERN);

export function isDnsName(name: unknown): name is string {
  return typeof name === "string" && name.length <= DNS_NAME_MAX_LENGTH && DNS_NAME.test(name);
}
