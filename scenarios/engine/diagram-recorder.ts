// Records one device's flow as sequence-diagram items, from the UE's trace (Ub and Ua messages,
// AKA values, notes) and the runner's own steps. Key material never enters: values the tracer
// marks as keys are recorded by label only, headers are reduced to what they announce.
import type { TraceMessage, Tracer, TraceValueKind } from "../../ue/trace.js";

export type Participant = "USIM" | "UE" | "BSF" | "HSS" | "NAF" | "ECA";

export type DiagramItem =
  | { kind: "msg"; from: Participant; to: Participant; text: string; reply?: boolean }
  | { kind: "note"; over: Participant[]; text: string }
  | { kind: "step"; name: string };

/** Which NF an origin belongs to. */
export type OriginMap = Array<{ origin: string; nf: Participant }>;

function digestParam(header: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|[\\s,])${name}="?([^",]*)"?`, "i").exec(header);
  return m ? m[1] : undefined;
}

function header(m: TraceMessage, name: string): string | undefined {
  return m.headers.find(([h]) => h.toLowerCase() === name)?.[1];
}

export class DiagramRecorder implements Tracer {
  readonly items: DiagramItem[] = [];
  private readonly znSeen = new Set<string>();
  private tlsPeer: Participant | undefined;
  private authMode: "3G" | "GBA_U" = "3G";

  constructor(private readonly origins: OriginMap) {}

  private nfOf(url: string): Participant {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      return "NAF";
    }
    return this.origins.find((o) => o.origin === origin)?.nf ?? "NAF";
  }

  step(name: string): void {
    this.items.push({ kind: "step", name });
  }

  msg(from: Participant, to: Participant, text: string, reply = false): void {
    this.items.push({ kind: "msg", from, to, text, reply });
  }

  annotate(text: string, over: Participant[] = ["UE"]): void {
    this.items.push({ kind: "note", over, text });
  }

  message(m: TraceMessage): void {
    if (m.iface === "Ub") this.ubMessage(m);
    else this.uaMessage(m);
  }

  private ubMessage(m: TraceMessage): void {
    if (m.direction === "request") {
      const auth = header(m, "authorization") ?? "";
      const auts = digestParam(auth, "auts") !== undefined;
      const response = digestParam(auth, "response") ?? "";
      if (auts) this.msg("UE", "BSF", "GET / Authorization: Digest username=IMPI, auts (resynchronisation)");
      else if (response === "") this.msg("UE", "BSF", "GET / Authorization: Digest username=IMPI (TS 24.109 A.3)");
      else this.msg("UE", "BSF", "GET / Authorization: Digest AKA response (RES as password)");
      if (auts || response === "") {
        this.msg("BSF", "HSS", `Zh generate-auth-data${auts ? " with resynchronizationInfo (RAND, AUTS)" : ""}, GUSS`);
        this.msg("HSS", "BSF", "AV (RAND, AUTN, XRES, CK, IK), GUSS", true);
      }
      return;
    }
    const status = m.startLine.split(" ")[1] ?? "";
    if (status === "401") {
      const ch = header(m, "www-authenticate") ?? "";
      this.msg(
        "BSF",
        "UE",
        `401 WWW-Authenticate: Digest ${digestParam(ch, "algorithm") ?? ""} nonce=base64(RAND, AUTN)`.trim(),
        true,
      );
    } else if (status === "200") this.msg("BSF", "UE", "200 BootstrappingInfo (B-TID, key lifetime)", true);
    else this.msg("BSF", "UE", m.startLine.replace(/^HTTP\/1\.1 /, ""), true);
  }

  private uaMessage(m: TraceMessage): void {
    const nf = this.nfOf(m.url);
    if (m.direction === "request") {
      const auth = header(m, "authorization");
      const [method, path] = m.startLine.split(" ");
      if (auth === undefined) this.msg("UE", nf, `${method} ${path}`);
      else {
        const btid = digestParam(auth, "username") ?? "";
        this.msg("UE", nf, `${method} ${path} Authorization: Digest username=B-TID, qop=${digestParam(auth, "qop") ?? "none"}`);
        this.zn(nf, btid, "Ks_NAF");
      }
      return;
    }
    const status = m.startLine.split(" ")[1] ?? "";
    const www = header(m, "www-authenticate");
    if (status === "401" && www !== undefined) {
      this.msg(
        nf,
        "UE",
        `401 WWW-Authenticate: Digest realm=${digestParam(www, "realm")?.split("@")[0] ?? "?"}@NAF${digestParam(www, "stale") === "true" ? ", stale" : ""}`,
        true,
      );
    } else {
      const info = header(m, "authentication-info") !== undefined ? " Authentication-Info: rspauth" : "";
      this.msg(nf, "UE", `${m.startLine.replace(/^HTTP\/1\.1 /, "")}${info}`, true);
    }
  }

  /** The NAF asks the BSF over Zn the first time it sees a B-TID (later it uses its key cache). */
  zn(nf: Participant, btid: string, key: string): void {
    const id = `${nf} ${btid}`;
    if (this.znSeen.has(id)) return;
    this.znSeen.add(id);
    this.msg(nf, "BSF", "Zn bootstrapping-info-retrieval (B-TID, NAF_Id)");
    this.msg("BSF", nf, `${key}, key lifetime, USS (or 404 when the B-TID is unknown or expired)`, true);
  }

  value(label: string, value: Uint8Array | string, kind: TraceValueKind = "public"): void {
    switch (label) {
      case "IMPI":
        this.annotate(`IMPI ${String(value)}`);
        return;
      case "mode":
        this.authMode = value === "GBA_U" ? "GBA_U" : "3G";
        this.annotate(`GBA type ${String(value)}`);
        return;
      case "AUTN":
        this.msg(
          "UE",
          "USIM",
          this.authMode === "GBA_U" ? "AUTHENTICATE (GBA context) RAND, AUTN*" : "AUTHENTICATE (3G context) RAND, AUTN",
        );
        return;
      case "RES":
        this.msg("USIM", "UE", this.authMode === "GBA_U" ? "RES (Ks = CK||IK stays on the UICC)" : "RES, CK, IK", true);
        return;
      case "AUTS":
        this.msg("USIM", "UE", "synchronisation failure: AUTS (SQN out of range)", true);
        return;
      case "B-TID":
        this.annotate(`B-TID ${String(value)}`);
        return;
      case "Ks_NAF":
        this.annotate('Ks_NAF = KDF(Ks, "gba-me", RAND, IMPI, NAF_Id)');
        return;
      case "Ks_ext_NAF":
        this.msg("UE", "USIM", "AUTHENTICATE (NAF derivation) NAF_Id, IMPI");
        this.msg("USIM", "UE", "Ks_ext_NAF (Ks_int_NAF stays on the UICC)", true);
        return;
      case "psk_identity":
        if (this.tlsPeer) {
          const identity = String(value);
          this.msg("UE", this.tlsPeer, `TLS ClientHello, psk_identity ${identity.split(".")[0]}.B-TID`);
          this.zn(this.tlsPeer, identity.slice(identity.indexOf(".") + 1), "Ks_NAF (the PSK)");
        }
        return;
      default:
        if (kind === "key") return;
    }
  }

  /** The UE's running commentary, kept where it explains the flow. */
  note(text: string): void {
    const tls = /^TLS-PSK handshake with ([^ ,]+)/.exec(text);
    if (tls) {
      this.tlsPeer = this.nfOf(`https://${tls[1]}`);
      return;
    }
    if (/^TLS-PSK established/.test(text) && this.tlsPeer) {
      this.msg(this.tlsPeer, "UE", text.replace(/^TLS-PSK established: /, "TLS-PSK handshake done: "), true);
      return;
    }
    if (/^TLS-PSK handshake failed/.test(text) && this.tlsPeer) {
      this.msg(this.tlsPeer, "UE", "handshake failure: PSK identity refused (B-TID unknown or expired)", true);
      return;
    }
    if (/rejected B-TID|bootstrapping again/.test(text)) this.annotate(text.replace(/ \(TS [^)]*\)/, ""));
  }
}
