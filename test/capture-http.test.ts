// The HTTP side of --pcap: one direction of a connection cut into whole messages (RFC 9112 §6),
// so key material split across socket writes is still found and zeroed, same length.
import { describe, expect, it } from "vitest";
import { HttpFramer, redactHttp } from "../nf/common/capture/http.js";

const KEY = "0123456789abcdef".repeat(4);
const body = JSON.stringify({ btid: "x@bsf", meKeyMaterial: KEY, keyExpiry: "2030-01-01T00:00:00Z" });
const RESPONSE = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
const REQUEST =
  'GET / HTTP/1.1\r\nhost: naf\r\nauthorization: Digest username="x@bsf", response="6629fae49393a05397450978507c4ef1"\r\n\r\n';

function cut(text: string, at: number[]): Buffer[] {
  const b = Buffer.from(text, "latin1");
  const edges = [0, ...at, b.length];
  return edges.slice(1).map((e, i) => b.subarray(edges[i], e));
}

describe("HttpFramer", () => {
  it("a response split at any octet comes out whole, once", () => {
    for (let at = 1; at < RESPONSE.length; at += 7) {
      const f = new HttpFramer("response", ["POST"]);
      const out = cut(RESPONSE, [at]).flatMap((p) => f.push(p));
      expect(out.map((m) => m.toString("latin1"))).toEqual([RESPONSE]);
    }
  });

  it("two messages in one write, then a chunked one with a trailer", () => {
    const chunked = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\nx-t: 1\r\n\r\n";
    const f = new HttpFramer("response", ["GET", "GET", "GET"]);
    const out = [...f.push(Buffer.from(RESPONSE + RESPONSE)), ...cut(chunked, [50, 60]).flatMap((p) => f.push(p))];
    expect(out.map((m) => m.toString("latin1"))).toEqual([RESPONSE, RESPONSE, chunked]);
  });

  it("answers to HEAD, 204 and 304 have no body although they name a length", () => {
    const head = "HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n";
    const f = new HttpFramer("response", ["HEAD", "GET"]);
    expect(f.push(Buffer.from(head)).map(String)).toEqual([head]);
    const none = "HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n";
    expect(f.push(Buffer.from(none)).map(String)).toEqual([none]);
  });

  it("takeHeld hands out an unfinished message once; the rest follows when complete", () => {
    const post = "POST /enrol HTTP/1.1\r\ncontent-length: 10\r\n\r\n0123456789";
    const f = new HttpFramer("request", []);
    expect(f.push(Buffer.from(post.slice(0, 45)))).toEqual([]);
    const held = f.takeHeld();
    expect(held?.toString()).toBe(post.slice(0, 45));
    expect(f.takeHeld()).toBeUndefined();
    expect(f.push(Buffer.from(post.slice(45))).map(String)).toEqual([post.slice(45)]);
    expect(f.push(Buffer.from(REQUEST)).map(String)).toEqual([REQUEST]);
  });

  it("a body read to the close is given by flush", () => {
    const f = new HttpFramer("response", ["GET"]);
    expect(f.push(Buffer.from("HTTP/1.1 200 OK\r\n\r\nto the end"))).toEqual([]);
    expect(f.flush()?.toString()).toBe("HTTP/1.1 200 OK\r\n\r\nto the end");
  });
});

describe("redactHttp", () => {
  it("zeroes JSON key fields and Digest responses in place, same length", () => {
    const r = redactHttp(Buffer.from(RESPONSE, "latin1")).toString("latin1");
    expect(r).toHaveLength(RESPONSE.length);
    expect(r).toContain(`"meKeyMaterial":"${"0".repeat(64)}"`);
    expect(r).toContain('"btid":"x@bsf"');
    const q = redactHttp(Buffer.from(REQUEST, "latin1")).toString("latin1");
    expect(q).toBe(REQUEST.replace("6629fae49393a05397450978507c4ef1", "0".repeat(32)));
    const info = 'HTTP/1.1 200 OK\r\nauthentication-info: rspauth="a1b2c3", qop=auth\r\ncontent-length: 0\r\n\r\n';
    expect(redactHttp(Buffer.from(info)).toString()).toContain('rspauth="000000"');
  });

  it("leaves a message without key material as it is", () => {
    const plain = 'GET / HTTP/1.1\r\nauthorization: Digest username="x@bsf", nonce="abc"\r\n\r\n';
    expect(redactHttp(Buffer.from(plain)).toString()).toBe(plain);
  });
});
