// The recorded flow of one OBU as a Mermaid sequence diagram (--diagram FILE).
import type { DiagramItem, Participant } from "./engine/diagram-recorder.js";

const ORDER: Participant[] = ["USIM", "UE", "BSF", "HSS", "NAF", "ECA"];
const LABEL: Record<Participant, string> = {
  USIM: "USIM",
  UE: "UE (device middleware)",
  BSF: "BSF",
  HSS: "HSS",
  NAF: "NAF",
  ECA: "ECA (NAF)",
};

/** Mermaid ends a message at ";" and reads "#...;" as an entity: both are written as entity codes; < > would be HTML. */
function text(s: string): string {
  return s
    .replace(/[#;]/g, (c) => (c === "#" ? "#35;" : "#59;"))
    .replace(/</g, "(")
    .replace(/>/g, ")")
    .replace(/\s+/g, " ")
    .trim();
}

export function renderMermaid(obu: string, items: DiagramItem[]): string {
  const used = new Set<Participant>(["UE"]);
  for (const i of items) {
    if (i.kind === "msg") {
      used.add(i.from);
      used.add(i.to);
    } else if (i.kind === "note") for (const p of i.over) used.add(p);
  }
  const participants = ORDER.filter((p) => used.has(p));
  const lines = ["sequenceDiagram", `  title OBU ${text(obu)}: GBA bootstrapping and IoT.04 enrolment`, "  autonumber"];
  for (const p of participants) lines.push(`  participant ${p} as ${LABEL[p]}`);
  const first = participants[0];
  const last = participants[participants.length - 1];
  for (const i of items) {
    if (i.kind === "step") lines.push(`  Note over ${first},${last}: step ${text(i.name)}`);
    else if (i.kind === "note") lines.push(`  Note over ${i.over.join(",")}: ${text(i.text)}`);
    else lines.push(`  ${i.from}${i.reply ? "-->>" : "->>"}${i.to}: ${text(i.text)}`);
  }
  return `${lines.join("\n")}\n`;
}
