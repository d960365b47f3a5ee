// The one loopback rule of the project: a listener bound there serves this host only, a client
// connecting from there is on this host. The HSS provisioning API and the dashboard need no
// token on loopback (and a token beyond it); the ECA's admin listings answer loopback clients.
import { ConfigError } from "./config.js";

/** Shortest token a listener beyond loopback accepts. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** 127.0.0.0/8 (also IPv4-mapped), ::1 and localhost; a bracketed IPv6 literal as in a URL or a Host header. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export interface ProtectedListener {
  /** the setting that names the host, e.g. "hss.admin.host" */
  hostAt: string;
  host: string;
  /** where a token comes from, e.g. "hss.admin.token" or "dashboard.token or GBA_DASHBOARD_TOKEN" */
  tokenAt: string;
  token: string | undefined;
  /** what the token protects, e.g. "the provisioning API requires a bearer token" */
  so: string;
}

/** Refuses a token shorter than MIN_ADMIN_TOKEN_LENGTH, and a host beyond loopback without a token. */
export function checkProtectedListener(l: ProtectedListener): void {
  if (l.token !== undefined && (typeof l.token !== "string" || l.token.length < MIN_ADMIN_TOKEN_LENGTH)) {
    throw new ConfigError(`${l.tokenAt}: must be a string of at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  }
  if (!isLoopbackHost(l.host) && l.token === undefined) {
    throw new ConfigError(`${l.hostAt} ${l.host} is not a loopback address: set ${l.tokenAt} so ${l.so}`);
  }
}
