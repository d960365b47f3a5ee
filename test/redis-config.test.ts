import { describe, expect, test } from "vitest";
import {
  checkStoreConfig,
  parseNodeAddress,
  parseStoreOption,
  StoreConfigError,
  storeUrl,
} from "../nf/common/store/redis-config.js";

describe("--store", () => {
  test("lmdb and a redis:// node list", () => {
    expect(parseStoreOption("lmdb")).toEqual({ backend: "lmdb" });
    expect(parseStoreOption("redis://10.0.0.1:7000,redis-0.redis:7001,[::1]:7002,cache")).toEqual({
      backend: "redis",
      prefix: "gba",
      commandTimeoutMs: 2000,
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "redis-0.redis", port: 7001 },
        { host: "::1", port: 7002 },
        { host: "cache", port: 6379 },
      ],
    });
  });

  test.each([
    ["redis://", /node 1: empty node address/],
    ["redis://a:1,,b:2", /node 2: empty node address/],
    ["redis://a:99999", /node 1: port 99999 of "a:99999" is out of 1\.\.65535/],
    ["redis://a:0", /port 0 of "a:0" is out of/],
    ["redis://a:x1", /port "x1" of "a:x1" is not a number/],
    ["redis://a:1,b:2,a:1", /node 3: "a:1" repeats node 1/],
    ["redis://A:1,a:1", /node 2: "a:1" repeats node 1/],
    ["redis://::1:7000", /looks like an IPv6 address: write it as \[ADDRESS\]:PORT/],
    ["redis://[::1:7000", /opens "\[" for an IPv6 address but never closes it/],
    ["redis://[10.0.0.1]:7000", /"10.0.0.1" in brackets is not an IPv6 address/],
    ["redis://[::1]x", /has "x" after the IPv6 address/],
    ["redis://bad_host:1", /host "bad_host" is neither an IP address nor a DNS name/],
    ["redis://:7000", /has no host before the port/],
    ["redis://user:secret@a:1", /credentials do not belong in the URL.*GBA_REDIS_PASSWORD/],
    ["redis://a:1/0", /"\/0" in "redis:\/\/a:1\/0" is a path \(a Redis Cluster has only database 0\)/],
    ["redis://a:1?timeout=3", /"\?timeout=3" in "redis:\/\/a:1\?timeout=3": the only query option is prefix=NAME/],
    ["redis://a:1?prefix=a/b", /prefix "a\/b" in .* must be 1 to 32 of/],
    ["redis://a:1#x", /"#x" in "redis:\/\/a:1#x" is a fragment/],
    ["rediss://a:1", /scheme "rediss:\/\/" is not supported \(TLS to Redis is not supported yet\)/],
    ["http://a:1", /scheme "http:\/\/" is not supported/],
    ["postgres", /"postgres" is neither "lmdb" nor a redis:\/\//],
  ])("%s is refused naming the bad part", (text, why) => {
    expect(() => parseStoreOption(text)).toThrow(StoreConfigError);
    expect(() => parseStoreOption(text)).toThrow(why);
  });

  test("?prefix=NAME separates deployments sharing one cluster, and storeUrl writes it back", () => {
    const cfg = parseStoreOption("redis://a:1,b:2?prefix=lab-2");
    expect(cfg).toMatchObject({ backend: "redis", prefix: "lab-2" });
    if (cfg.backend === "redis") expect(storeUrl(cfg)).toBe("redis://a:1,b:2?prefix=lab-2");
  });

  test("the error says where the value came from", () => {
    expect(() => parseNodeAddress("a:70000", "store.nodes, node 4")).toThrow(/^store\.nodes, node 4: port 70000/);
  });

  test("storeUrl writes the nodes back (IPv6 in brackets), never credentials", () => {
    const cfg = parseStoreOption("redis://[::1]:7000,b:7001");
    if (cfg.backend !== "redis") throw new Error("expected redis");
    expect(storeUrl(cfg)).toBe("redis://[::1]:7000,b:7001");
  });
});

describe("store config section", () => {
  test("absent or lmdb means the embedded default", () => {
    expect(checkStoreConfig(undefined)).toEqual({ backend: "lmdb" });
    expect(checkStoreConfig({ backend: "lmdb" })).toEqual({ backend: "lmdb" });
  });

  test("redis with nodes, prefix and timeout", () => {
    expect(checkStoreConfig({ backend: "redis", nodes: ["r1:7000", "r2:7000"], prefix: "lab-1", commandTimeoutMs: 500 })).toEqual(
      {
        backend: "redis",
        prefix: "lab-1",
        commandTimeoutMs: 500,
        nodes: [
          { host: "r1", port: 7000 },
          { host: "r2", port: 7000 },
        ],
      },
    );
  });

  test.each([
    [[], /store: expected an object/],
    [{ backend: "postgres" }, /store\.backend: expected "lmdb" or "redis", got "postgres"/],
    [{ backend: "lmdb", nodes: ["a:1"] }, /store\.nodes: only for backend "redis"/],
    [{ backend: "redis" }, /store\.nodes: expected a list of "HOST:PORT" strings/],
    [{ backend: "redis", nodes: [7000] }, /store\.nodes: expected a list/],
    [{ backend: "redis", nodes: [] }, /store\.nodes: at least one Redis node is needed/],
    [{ backend: "redis", nodes: ["a:1", "b:0"] }, /store\.nodes, node 2: port 0 of "b:0"/],
    [{ backend: "redis", nodes: ["a:1"], prefix: "a:b" }, /store\.prefix: expected 1 to 32 of/],
    [
      { backend: "redis", nodes: ["a:1"], commandTimeoutMs: 2.5 },
      /store\.commandTimeoutMs: expected an integer 10\.\.60000, got 2\.5/,
    ],
    [{ backend: "redis", nodes: ["a:1"], password: "x" }, /store\.password: unknown setting/],
  ])("%j is refused", (raw, why) => {
    expect(() => checkStoreConfig(raw)).toThrow(why);
  });
});
