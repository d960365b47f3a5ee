// The network of the multi-host topology, before any NF runs in it: every host its own network
// namespace (./netns-star.ts) — 2 HSS, N BSF and N NAF replicas, the ECA, the 2P Redis Cluster
// nodes, the load balancer and the UE population — a P-primary + P-replica Redis Cluster across
// the Redis hosts (./redis-cluster.ts), and HAProxy on the load-balancer host (./haproxy.ts) with
// one service per reference point: Zh over the HSSs, Ub and Zn over the BSFs, Ua (HTTP Digest
// and TLS-PSK) over the NAFs, each on the NF's usual port. The NFs come later and listen on
// their host's address (`address(host)`); clients use `lbUrl(...)`.
import { join } from "node:path";
import { type LbService, Haproxy } from "./haproxy.js";
import { createStar, type Star } from "./netns-star.js";
import { RedisCluster } from "./redis-cluster.js";
import { TopologyError } from "./types.js";

export interface MultiHostShape {
  /** N: BSF replicas and NAF replicas each */
  replicas: number;
  /** HSS replicas (default 2) */
  hss?: number;
  /** Redis Cluster primaries, each with one replica (default 3) */
  redisPrimaries?: number;
}

export interface MultiHostHosts {
  hss: string[];
  bsf: string[];
  naf: string[];
  eca: string;
  redis: string[];
  lb: string;
  ue: string;
}

/** The NF ports, the same on every host and on the load balancer. */
export const MULTI_HOST_PORTS = {
  zh: 7001,
  ub: 8080,
  zn: 8081,
  uaHttp: 9080,
  uaTlsPsk: 9443,
  ecaHttp: 9090,
  ecaTlsPsk: 9444,
  redis: 6379,
  redisBus: 16379,
} as const;
const { zh, ub, zn, uaHttp, uaTlsPsk } = MULTI_HOST_PORTS;
const LB_PORTS = { zh, ub, zn, uaHttp, uaTlsPsk } as const;

/**
 * Health check of the NF services until the NFs offer GET /ready: any HTTP answer to a path no
 * NF serves (404) proves the process answers, without touching a store or asking the HSS for a
 * vector (GET / on Ub would).
 */
export const NF_ALIVE_CHECK = { path: "/.well-known/gba-lb-probe", status: "^[234]" };

export function multiHostHosts(shape: MultiHostShape): MultiHostHosts {
  const n = shape.replicas;
  const h = shape.hss ?? 2;
  const p = shape.redisPrimaries ?? 3;
  if (!Number.isInteger(n) || n < 1 || n > 32) throw new TopologyError(`replicas ${n} out of 1..32`);
  if (!Number.isInteger(h) || h < 1 || h > 8) throw new TopologyError(`hss ${h} out of 1..8`);
  if (!Number.isInteger(p) || p < 3 || p > 16)
    throw new TopologyError(`redisPrimaries ${p} out of 3..16 (Redis Cluster needs 3)`);
  const seq = (prefix: string, k: number) => Array.from({ length: k }, (_, i) => `${prefix}${i + 1}`);
  return {
    hss: seq("hss", h),
    bsf: seq("bsf", n),
    naf: seq("naf", n),
    eca: "eca",
    redis: seq("redis", 2 * p),
    lb: "lb",
    ue: "ue",
  };
}

export function allHosts(h: MultiHostHosts): string[] {
  return [...h.hss, ...h.bsf, ...h.naf, h.eca, ...h.redis, h.lb, h.ue];
}

/** The load balancer's services over the hosts' addresses. */
export function multiHostLbServices(h: MultiHostHosts, address: (host: string) => string): LbService[] {
  const P = MULTI_HOST_PORTS;
  const bind = (port: number) => ({ host: address(h.lb), port });
  const over = (hosts: string[], port: number) => hosts.map((name) => ({ name, host: address(name), port }));
  return [
    { name: "zh", mode: "http", bind: bind(P.zh), servers: over(h.hss, P.zh), check: NF_ALIVE_CHECK },
    { name: "ub", mode: "http", bind: bind(P.ub), servers: over(h.bsf, P.ub), check: NF_ALIVE_CHECK },
    { name: "zn", mode: "http", bind: bind(P.zn), servers: over(h.bsf, P.zn), check: NF_ALIVE_CHECK },
    { name: "ua_http", mode: "http", bind: bind(P.uaHttp), servers: over(h.naf, P.uaHttp), check: NF_ALIVE_CHECK },
    { name: "ua_tls_psk", mode: "tcp", bind: bind(P.uaTlsPsk), servers: over(h.naf, P.uaTlsPsk) },
  ];
}

export interface MultiHostNet {
  star: Star;
  hosts: MultiHostHosts;
  redis: RedisCluster;
  lb: Haproxy;
  address(host: string): string;
  /** redis://… seed list for `--store` */
  storeUrl: string;
  /** where a client reaches a service through the load balancer */
  lbEndpoint(service: keyof typeof LB_PORTS): { host: string; port: number };
  stop(): Promise<void>;
}

export interface MultiHostNetOptions extends MultiHostShape {
  /** working directory: Redis node directories, haproxy.cfg, logs */
  dir: string;
  /** cluster-node-timeout (default 5000 ms) */
  redisNodeTimeoutMs?: number;
  /** HAProxy health check interval (default 500 ms) */
  checkIntervalMs?: number;
  info?: (line: string) => void;
}

/** Namespaces, Redis Cluster and HAProxy; everything stopped again if a step fails. */
export async function startMultiHostNet(o: MultiHostNetOptions): Promise<MultiHostNet> {
  const hosts = multiHostHosts(o);
  const star = await createStar({ name: "mh", leaves: allHosts(hosts), info: o.info });
  const address = (host: string) => star.address(host);
  let redis: RedisCluster | undefined;
  try {
    const P = MULTI_HOST_PORTS;
    redis = await RedisCluster.start({
      dir: join(o.dir, "redis"),
      nodes: hosts.redis.map((host) => ({ host: address(host), port: P.redis, busPort: P.redisBus, wrap: star.exec(host, []) })),
      cliWrap: star.exec("core", []),
      nodeTimeoutMs: o.redisNodeTimeoutMs ?? 5000,
      info: o.info,
    });
    const lb = await Haproxy.start(multiHostLbServices(hosts, address), {
      dir: join(o.dir, "haproxy"),
      wrap: star.exec(hosts.lb, []),
      checkIntervalMs: o.checkIntervalMs,
    });
    const cluster = redis;
    return {
      star,
      hosts,
      redis: cluster,
      lb,
      address,
      storeUrl: `redis://${hosts.redis.map((host) => `${address(host)}:${P.redis}`).join(",")}`,
      lbEndpoint: (service) => ({ host: address(hosts.lb), port: LB_PORTS[service] }),
      stop: async () => {
        await lb.stop();
        await cluster.stop();
        await star.remove();
      },
    };
  } catch (err) {
    await redis?.stop();
    await star.remove();
    throw err;
  }
}
