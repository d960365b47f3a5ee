// Live progress of a run on stderr: on a terminal one line updated in place, elsewhere a line
// every few seconds. Per-step counts in both phases, and a progress bar in the load phase.
import type { Results } from "./results.js";

export interface ProgressOptions {
  write: (s: string) => void;
  tty: boolean;
  /** ms between lines when not a TTY */
  intervalMs?: number;
  /** planned load duration (s) for the bar, and the planned arrival count when there is one */
  loadSeconds?: number;
  loadCount?: number;
}

const BAR = 24;

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private lastLine = "";
  private lastPhase: "functional" | "load" | undefined;

  constructor(
    private readonly results: Results,
    private readonly o: ProgressOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.o.tty ? 200 : (this.o.intervalMs ?? 3000));
    this.timer.unref();
  }

  /** Prints one line (non-TTY) or redraws it (TTY). */
  tick(): void {
    const line = this.line();
    if (line === undefined) return;
    if (this.o.tty) this.o.write(`\r\x1b[2K${line}`);
    else if (line !== this.lastLine) this.o.write(`${line}\n`);
    this.lastLine = line;
  }

  /** A phase ended: its final counts stay on screen. */
  phaseDone(): void {
    const line = this.line();
    if (line === undefined) return;
    if (this.o.tty) this.o.write(`\r\x1b[2K${line}\n`);
    else this.o.write(`${line}\n`);
    this.lastLine = "";
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.o.tty && this.lastLine) this.o.write("\r\x1b[2K");
  }

  private line(): string | undefined {
    const r = this.results;
    if (r.load.started) {
      this.lastPhase = "load";
      return this.loadLine();
    }
    if (r.functional.started) {
      this.lastPhase = "functional";
      return this.functionalLine();
    }
    return this.lastPhase === undefined ? undefined : this.lastLine;
  }

  private functionalLine(): string {
    const f = this.results.functional;
    const done = f.flows.length;
    const ok = f.outcomes.success;
    const denied = f.outcomes.denied;
    const failed = done - ok - denied;
    const steps = [...f.stepOk].map(([s, n]) => `${s} ${n}`).join("  ");
    return `functional ${done}/${f.devices} OBUs │ ${steps || "starting"} │ ok ${ok} refused ${denied} failed ${failed}`;
  }

  private loadLine(): string {
    const l = this.results.load;
    const elapsed = ((l.ended ? l.endedAtMs : performance.now()) ?? 0) - (l.startedAtMs ?? 0);
    const ok = l.outcomes.success;
    const failed = l.flows.length - ok;
    const enrols = l.stepOk.get("enrol") ?? 0;
    const secs = Math.max(0.001, elapsed / 1000);
    let frac = this.o.loadSeconds ? secs / this.o.loadSeconds : 0;
    if (this.o.loadCount) frac = Math.max(frac, l.flows.length / this.o.loadCount);
    frac = l.ended ? 1 : Math.min(1, frac);
    const filled = Math.round(frac * BAR);
    const bar = `[${"█".repeat(filled)}${"░".repeat(BAR - filled)}] ${String(Math.round(frac * 100)).padStart(3)}%`;
    const total = this.o.loadSeconds ? `/${this.o.loadSeconds.toFixed(1)}` : "";
    const steps = [...l.stepOk].map(([s, n]) => `${s} ${n}`).join("  ");
    return (
      `load ${bar} ${secs.toFixed(1)}${total} s │ ${steps ? `${steps} │ ` : ""}flows ${l.flows.length} ok ${ok} failed ${failed}` +
      ` │ ${(enrols / secs).toFixed(1)} enrol/s`
    );
  }
}
