// Our Diameter dictionary against Wireshark's (Debian wireshark-common / tshark:
// /usr/share/wireshark/diameter/dictionary.xml and the files it includes): every AVP of ours must
// exist there with the same code, vendor and a data type of the same wire format, and with M and
// V rules that agree; every command code and both GAA application ids must be there too.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { APP_ZH, APP_ZN, AVPS, type AvpType, COMMANDS, VENDOR_3GPP } from "../wire/diameter/index.js";

const DIR = "/usr/share/wireshark/diameter";

interface WsAvp {
  name: string;
  code: number;
  vendor: number;
  type: string;
  mandatory: string;
  vendorBit: string;
  file: string;
}

function loadWireshark(): { avps: WsAvp[]; commands: Array<{ name: string; code: number }>; apps: Map<number, string> } {
  const main = join(DIR, "dictionary.xml");
  if (!existsSync(main)) {
    throw new Error(`${main} is missing: install the Debian package wireshark-common (it comes with tshark)`);
  }
  const mainText = readFileSync(main, "utf8");
  // the included files are external entities declared in the DOCTYPE: <!ENTITY TGPP SYSTEM "TGPP.xml">
  const files = [...mainText.matchAll(/<!ENTITY\s+\S+\s+SYSTEM\s+"([^"]+)"/g)].map((m) => m[1]);
  const texts = [
    { file: "dictionary.xml", text: mainText },
    ...files.map((f) => ({ file: f, text: readFileSync(join(DIR, f), "utf8") })),
  ];
  const vendors = new Map<string, number>();
  for (const { text } of texts)
    for (const m of text.matchAll(/<vendor\s+vendor-id="([^"]+)"\s+code="(\d+)"/g)) vendors.set(m[1], Number(m[2]));
  const avps: WsAvp[] = [];
  const commands: Array<{ name: string; code: number }> = [];
  const apps = new Map<number, string>();
  const attr = (tag: string, name: string): string | undefined => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
  for (const { file, text } of texts) {
    const body = text.replace(/<!--[\s\S]*?-->/g, "");
    for (const m of body.matchAll(/<avp\s[^>]*>[\s\S]*?<\/avp>/g)) {
      const tag = /<avp\s[^>]*>/.exec(m[0])![0];
      const vendorName = attr(tag, "vendor-id");
      const grouped = /<grouped>/.test(m[0]);
      avps.push({
        name: attr(tag, "name")!,
        code: Number(attr(tag, "code")),
        vendor: vendorName === undefined || vendorName === "None" ? 0 : (vendors.get(vendorName) ?? -1),
        type: grouped ? "Grouped" : (/<type\s+type-name="([^"]+)"/.exec(m[0])?.[1] ?? "?"),
        // defaults of dictionary.dtd
        mandatory: attr(tag, "mandatory") ?? "may",
        vendorBit: attr(tag, "vendor-bit") ?? "mustnot",
        file,
      });
    }
    for (const m of body.matchAll(/<command\s+name="([^"]+)"\s+code="(\d+)"/g)) commands.push({ name: m[1], code: Number(m[2]) });
    for (const m of body.matchAll(/<application\s+id="(\d+)"\s+name="([^"]+)"/g)) apps.set(Number(m[1]), m[2]);
  }
  return { avps, commands, apps };
}

// Wireshark's type names for the same wire format as ours (RFC 6733 §4.2, §4.3). Wireshark
// refines some Unsigned32 AVPs to show names (AppId, VendorId, Enumerated for Result-Code and
// Inband-Security-Id), and calls Address "IPAddress".
const SAME_WIRE_FORMAT: Record<AvpType, string[]> = {
  OctetString: ["OctetString", "OctetStringOrUTF8"],
  UTF8String: ["UTF8String", "OctetStringOrUTF8"],
  DiameterIdentity: ["DiameterIdentity"],
  DiameterURI: ["DiameterURI"],
  Address: ["IPAddress", "Address"],
  Time: ["Time"],
  Integer32: ["Integer32"],
  Integer64: ["Integer64"],
  Unsigned32: ["Unsigned32", "AppId", "VendorId", "Enumerated"],
  Unsigned64: ["Unsigned64"],
  Float32: ["Float32"],
  Float64: ["Float64"],
  Enumerated: ["Enumerated", "Integer32"],
  Grouped: ["Grouped"],
};

const agrees = (ours: "must" | "mustnot" | "may", theirs: string): boolean =>
  theirs === "may" || ours === "may" || (ours === "must" ? theirs === "must" : theirs === "mustnot" || theirs === "shouldnot");

describe("our Diameter dictionary agrees with Wireshark's", () => {
  const ws = loadWireshark();

  it("reads a plausible Wireshark dictionary (the parser itself is not fooling us)", () => {
    expect(ws.avps.length).toBeGreaterThan(1000);
    expect(ws.avps.find((a) => a.code === 264 && a.vendor === 0)?.name).toBe("Origin-Host");
    expect(ws.avps.find((a) => a.code === 625 && a.vendor === VENDOR_3GPP)?.name).toBe("Confidentiality-Key");
  });

  for (const ours of AVPS) {
    it(`AVP ${ours.name} (${ours.vendorId ? `${ours.vendorId}:` : ""}${ours.code}, ${ours.type}, M ${ours.m})`, () => {
      const theirs = ws.avps.filter((a) => a.code === ours.code && a.vendor === ours.vendorId);
      expect(theirs.length, `Wireshark has no AVP ${ours.vendorId}:${ours.code}`).toBeGreaterThan(0);
      // Wireshark may list an AVP in several application sections; each must agree
      for (const t of theirs) {
        const where = `${t.name} in ${t.file}`;
        expect(SAME_WIRE_FORMAT[ours.type], `type of ${where}: Wireshark ${t.type}`).toContain(t.type);
        expect(agrees(ours.m, t.mandatory), `M bit of ${where}: ours ${ours.m}, Wireshark ${t.mandatory}`).toBe(true);
        expect(agrees(ours.vendorId ? "must" : "mustnot", t.vendorBit), `V bit of ${where}: Wireshark ${t.vendorBit}`).toBe(true);
      }
    });
  }

  it("every command code of ours is a Diameter command Wireshark knows", () => {
    for (const c of COMMANDS) {
      const names = ws.commands.filter((w) => w.code === c.code).map((w) => w.name);
      expect(names.length, `command ${c.code} (${c.name})`).toBeGreaterThan(0);
    }
    expect(ws.commands.find((w) => w.code === 310)?.name).toMatch(/^Boot?strapping-Info$/); // Wireshark spells it "Boostrapping";
    expect(ws.commands.find((w) => w.code === 303)?.name).toBe("Multimedia-Auth");
  });

  it("the GAA application ids are Wireshark's 3GPP Zn and Zh", () => {
    expect(ws.apps.get(APP_ZN)).toBe("3GPP Zn");
    expect(ws.apps.get(APP_ZH)).toBe("3GPP Zh");
  });
});
