// The Diameter settings an NF section holds (README "Diameter"): its identity (Origin-Host,
// Origin-Realm, RFC 6733 §6.3, §6.4), its listener, the peers it connects to, and the timers
// Tw (RFC 3539 §3.4.1) and Tc (RFC 6733 §2.1). The checks name the setting they refuse.
import { isDnsName } from "../../../wire/dns.js";
import { ConfigError, type ListenConfig } from "../config.js";
import type { DiameterNodeOptions, DiameterPeerConfig } from "./node.js";

/** The Diameter realm of the emulated operator (TS 23.003 §19.2 style, MCC 001, MNC 01). */
export const OPERATOR_REALM = "mnc001.mcc001.3gppnetwork.org";

/** RFC 3539 §3.4.1: Tw is at least 6 s. */
export const TW_MIN_SECONDS = 6;

export interface DiameterTimers {
  /** RFC 3539 Tw: seconds without traffic before a DWR is sent (≥ 6) */
  watchdogSeconds: number;
  /** RFC 6733 §2.1 Tc: seconds between connection attempts to a peer */
  reconnectSeconds: number;
}

/** The identity of a node that also listens. */
export interface DiameterServerConfig extends DiameterTimers {
  /** start the Diameter listener (and the node) */
  enabled: boolean;
  listen: ListenConfig;
  originHost: string;
  originRealm: string;
}

/** A peer this node connects to: its Origin-Host and realm, and where it listens. */
export interface DiameterPeerSetting {
  originHost: string;
  /** its realm: the Destination-Realm of our requests */
  realm: string;
  host: string;
  port: number;
}

/** The identity of a node that only connects (a NAF asking a BSF). */
export interface DiameterClientConfig extends DiameterTimers {
  originHost: string;
  originRealm: string;
  /** the peer asked */
  peer: DiameterPeerSetting;
}

export const DEFAULT_TIMERS: DiameterTimers = { watchdogSeconds: 30, reconnectSeconds: 30 };

/** "host:port" of a Diameter listener as a ready line names it ("[::1]:3868" for IPv6). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The host and port of "host:port" or "[v6]:port"; undefined when it is not that. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[3]);
  return port <= 65535 ? { host: m[1] ?? m[2], port } : undefined;
}

/** A peer setting pointed at the "host:port" listener an NF reported in its ready line (unchanged without one). */
export function peerAt<P extends { host: string; port: number }>(peer: P, listening: string | undefined): P {
  const at = listening === undefined ? undefined : parseHostPort(listening);
  return at ? { ...peer, ...at } : peer;
}

export function diameterIdentitySetting(at: string, value: unknown): void {
  if (!isDnsName(value)) throw new ConfigError(`${at}: "${String(value)}" is not a DiameterIdentity (an ASCII FQDN)`);
}

function portSetting(at: string, value: unknown, allowZero: boolean): void {
  if (!Number.isInteger(value) || (value as number) < (allowZero ? 0 : 1) || (value as number) > 65535)
    throw new ConfigError(`${at}: must be a TCP port ${allowZero ? 0 : 1}..65535`);
}

function hostSetting(at: string, value: unknown): void {
  if (typeof value !== "string" || value === "" || /\s/.test(value))
    throw new ConfigError(`${at}: must be a host name or an IP address`);
}

function timersSetting(at: string, t: DiameterTimers): void {
  if (!Number.isInteger(t.watchdogSeconds) || t.watchdogSeconds < TW_MIN_SECONDS)
    throw new ConfigError(`${at}.watchdogSeconds: Tw must be a whole number of seconds ≥ ${TW_MIN_SECONDS} (RFC 3539 §3.4.1)`);
  if (!Number.isInteger(t.reconnectSeconds) || t.reconnectSeconds < 1)
    throw new ConfigError(`${at}.reconnectSeconds: Tc must be a whole number of seconds ≥ 1 (RFC 6733 §2.1)`);
}

export function checkDiameterServer(at: string, c: DiameterServerConfig): void {
  if (typeof c.enabled !== "boolean") throw new ConfigError(`${at}.enabled: must be true or false`);
  hostSetting(`${at}.listen.host`, c.listen.host);
  portSetting(`${at}.listen.port`, c.listen.port, true);
  diameterIdentitySetting(`${at}.originHost`, c.originHost);
  diameterIdentitySetting(`${at}.originRealm`, c.originRealm);
  timersSetting(at, c);
}

export function checkDiameterPeer(at: string, p: DiameterPeerSetting): void {
  if (typeof p !== "object" || p === null) throw new ConfigError(`${at}: expected an object`);
  diameterIdentitySetting(`${at}.originHost`, p.originHost);
  diameterIdentitySetting(`${at}.realm`, p.realm);
  hostSetting(`${at}.host`, p.host);
  portSetting(`${at}.port`, p.port, false);
}

export function checkDiameterClient(at: string, c: DiameterClientConfig): void {
  diameterIdentitySetting(`${at}.originHost`, c.originHost);
  diameterIdentitySetting(`${at}.originRealm`, c.originRealm);
  timersSetting(at, c);
  checkDiameterPeer(`${at}.peer`, c.peer);
  if (c.peer.originHost.toLowerCase() === c.originHost.toLowerCase())
    throw new ConfigError(`${at}.peer.originHost: the peer cannot have our own Origin-Host ${c.originHost}`);
}

/** A peer we connect to, in the node's peer table. */
export function connectingPeer(p: DiameterPeerSetting): DiameterPeerConfig {
  return { originHost: p.originHost, connect: { host: p.host, port: p.port } };
}

/** The node options of an identity with its timers (ms). */
export function nodeIdentity(
  c: DiameterTimers & { originHost: string; originRealm: string },
): Pick<DiameterNodeOptions, "originHost" | "originRealm" | "watchdogMs" | "reconnectMs"> {
  return {
    originHost: c.originHost,
    originRealm: c.originRealm,
    watchdogMs: c.watchdogSeconds * 1000,
    reconnectMs: c.reconnectSeconds * 1000,
  };
}
