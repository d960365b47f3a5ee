// GBA-UserSecSettings (TS 29.109 §6.3.1.1, Annex A): the GUSS as an XML document, root "guss"
// on Zh and "ussList" (the USSs the NAF may see) on Zn.
//
// What is certain and what is not: the namespace is the Annex A targetNamespace of Rel-9 on;
// the element and attribute names (bsfInfo/uiccType/lifeTime, ussList/uss@id@type@nafGroup,
// uids/uid, flags/flag) are those an HSS in the field (FOKUS FHoSS) sends. The Annex A text of
// tUSS beyond these was not available: keyChoice and securityFeatures of the TS 29.309 JSON
// mirror are therefore not sent over Diameter, and the reader ignores elements and attributes
// it does not know (Annex A extension points). Elements are read in the namespace or in none
// (pre-Rel-9 documents).
import type { Guss, Uss } from "../zh.js";
import { escapeXml, parseXml, XmlError, type XmlElement } from "./xml.js";

/** TS 29.109 Annex A targetNamespace (Rel-9 onwards). */
export const GUSS_NAMESPACE = "urn:3gpp:gba:GBAGUSSSchema-R9:2010-02";
/** GUSS documents larger than this are refused. */
export const GUSS_MAX_OCTETS = 64 * 1024;

export type GussErrorCode = "XML" | "WRONG_ROOT" | "BAD_VALUE";

export class GussError extends Error {
  constructor(
    readonly code: GussErrorCode,
    message: string,
  ) {
    super(`GBA-UserSecSettings: ${message}`);
    this.name = "GussError";
  }
}

const uint = (n: number | undefined, what: string, min = 0, max = 0xffffffff): string => {
  if (n === undefined || !Number.isInteger(n) || n < min || n > max) throw new RangeError(`${what}: ${n} is out of range`);
  return String(n);
};

function ussXml(u: Uss): string {
  let attrs = ` id="${uint(u.gsId, "uss id")}"`;
  if (u.gsType !== undefined) attrs += ` type="${uint(u.gsType, "uss type")}"`;
  if (u.nafGroup !== undefined) attrs += ` nafGroup="${escapeXml(u.nafGroup, "nafGroup")}"`;
  const uids = (u.ueIds ?? []).map((x) => `<uid>${escapeXml(x.ueId, "uid")}</uid>`).join("");
  const flags = (u.flags ?? []).map((x) => `<flag>${uint(x.flag, "flag")}</flag>`).join("");
  return `<uss${attrs}><uids>${uids}</uids><flags>${flags}</flags></uss>`;
}

const ussListXml = (list: ReadonlyArray<{ uss: Uss }>): string => list.map((x) => ussXml(x.uss)).join("");

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** The GUSS document for GBA-UserSecSettings on Zh (root "guss"). */
export function encodeGussXml(g: Guss): string {
  const life =
    g.bsfInfo.lifeTime === undefined ? "" : `<lifeTime>${uint(g.bsfInfo.lifeTime, "lifeTime", 1, 0x7fffffff)}</lifeTime>`;
  if (g.bsfInfo.uiccType !== "GBA" && g.bsfInfo.uiccType !== "GBA_U") throw new RangeError(`uiccType ${g.bsfInfo.uiccType}`);
  return (
    `${DECLARATION}<guss xmlns="${GUSS_NAMESPACE}"><bsfInfo><uiccType>${g.bsfInfo.uiccType}</uiccType>${life}</bsfInfo>` +
    `<ussList>${ussListXml(g.ussList)}</ussList></guss>`
  );
}

/** The USSs for GBA-UserSecSettings on Zn (root "ussList"). */
export function encodeUssListXml(list: ReadonlyArray<{ uss: Uss }>): string {
  return `${DECLARATION}<ussList xmlns="${GUSS_NAMESPACE}">${ussListXml(list)}</ussList>`;
}

function parseRoot(doc: string | Uint8Array, root: "guss" | "ussList"): XmlElement {
  let el: XmlElement;
  try {
    el = parseXml(doc, { maxOctets: GUSS_MAX_OCTETS });
  } catch (err) {
    if (err instanceof XmlError) throw new GussError("XML", err.message);
    throw err;
  }
  if (el.local !== root) throw new GussError("WRONG_ROOT", `root element is <${el.local.slice(0, 40)}>, expected <${root}>`);
  if (el.ns !== GUSS_NAMESPACE && el.ns !== "") {
    throw new GussError("WRONG_ROOT", `root element is in namespace "${el.ns.slice(0, 60)}", expected "${GUSS_NAMESPACE}"`);
  }
  return el;
}

const childrenNamed = (el: XmlElement, local: string): XmlElement[] =>
  el.children.filter((c) => c.local === local && (c.ns === GUSS_NAMESPACE || c.ns === ""));

function onlyChild(el: XmlElement, local: string): XmlElement | undefined {
  const found = childrenNamed(el, local);
  if (found.length > 1) throw new GussError("BAD_VALUE", `more than one <${local}> in <${el.local}>`);
  return found[0];
}

function integer(text: string, what: string, min = 0, max = 0xffffffff): number {
  const t = text.trim();
  if (!/^[0-9]{1,10}$/.test(t)) throw new GussError("BAD_VALUE", `${what} "${t.slice(0, 20)}" is not an unsigned integer`);
  const n = Number(t);
  if (n < min || n > max) throw new GussError("BAD_VALUE", `${what} ${n} is out of range`);
  return n;
}

function readUss(el: XmlElement): Uss {
  const id = el.attrs.get("id");
  if (id === undefined) throw new GussError("BAD_VALUE", "<uss> without id");
  // TS 29.109 Annex A / TS 29.309 Uss: the type and at least one uid are required, so a USS
  // without them does not pass from Zh to Zn
  const type = el.attrs.get("type");
  if (type === undefined) throw new GussError("BAD_VALUE", "<uss> without type (required, TS 29.309 Uss gsType)");
  const uids = onlyChild(el, "uids");
  const ueIds = uids ? childrenNamed(uids, "uid").map((u) => ({ ueId: u.text.trim() })) : [];
  if (ueIds.some((u) => u.ueId === "")) throw new GussError("BAD_VALUE", "empty <uid>");
  if (ueIds.length === 0) throw new GussError("BAD_VALUE", "<uss> without <uids><uid> (required, TS 29.309 Uss ueIds)");
  const uss: Uss = { gsId: integer(id, "uss id"), gsType: integer(type, "uss type"), ueIds };
  const group = el.attrs.get("nafGroup");
  if (group !== undefined) uss.nafGroup = group;
  const flags = onlyChild(el, "flags");
  if (flags) {
    const list = childrenNamed(flags, "flag").map((f) => ({ flag: integer(f.text, "flag") }));
    if (list.length > 0) uss.flags = list;
  }
  return uss;
}

const readUssList = (el: XmlElement): Array<{ uss: Uss }> => childrenNamed(el, "uss").map((u) => ({ uss: readUss(u) }));

/** Reads a GUSS document (root "guss"); throws GussError. */
export function parseGussXml(doc: string | Uint8Array): Guss {
  const root = parseRoot(doc, "guss");
  const info = onlyChild(root, "bsfInfo");
  const bsfInfo: Guss["bsfInfo"] = { uiccType: "GBA" };
  if (info) {
    const t = onlyChild(info, "uiccType");
    if (t) {
      const v = t.text.trim();
      if (v !== "GBA" && v !== "GBA_U") throw new GussError("BAD_VALUE", `uiccType "${v.slice(0, 20)}" is neither GBA nor GBA_U`);
      bsfInfo.uiccType = v;
    }
    const life = onlyChild(info, "lifeTime");
    if (life) bsfInfo.lifeTime = integer(life.text, "lifeTime", 1, 0x7fffffff);
  }
  const list = onlyChild(root, "ussList");
  return { bsfInfo, ussList: list ? readUssList(list) : [] };
}

/** Reads the USSs sent on Zn (root "ussList"); throws GussError. */
export function parseUssListXml(doc: string | Uint8Array): Array<{ uss: Uss }> {
  return readUssList(parseRoot(doc, "ussList"));
}
