// Provisioning procedures of the HSS (the admin API; `gba provision` shares bulk.ts and the
// validators): validated subscribers in, views out (never K or OPc). No HTTP here: every answer
// is a tagged outcome the route maps (routes/admin.ts).
import { checkRows, type ImportRow, type RowError, writeRows } from "../bulk.js";
import { type AuthFailure, ExistsError, type HssStore, viewOf } from "../store.js";
import { type SubscriberView, type ValidationContext, validateCreate, validatePatch } from "../subscriber.js";

export type Provisioned =
  | { kind: "ok"; view: SubscriberView }
  | { kind: "invalid"; errors: string[] }
  | { kind: "exists"; detail: string }
  | { kind: "not-found" };

export type Imported =
  | { kind: "ok"; imported: number; skipped: RowError[] }
  | { kind: "invalid"; errors: RowError[] }
  | { kind: "exists"; detail: string };

async function unlessExists<T>(write: () => Promise<T>): Promise<T | { kind: "exists"; detail: string }> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof ExistsError) return { kind: "exists", detail: err.message };
    throw err;
  }
}

export class AdminProcedures {
  constructor(
    private readonly store: HssStore,
    private readonly ctx: ValidationContext,
  ) {}

  async status(): Promise<{ subscribers: number; indBits: number }> {
    return { subscribers: await this.store.count(), indBits: this.store.indBits };
  }

  async list(limit: number, after?: string): Promise<{ subscribers: SubscriberView[]; next: string | null }> {
    const page = await this.store.list(limit, after);
    return { subscribers: await Promise.all(page.items.map((r) => viewOf(this.store, r))), next: page.next ?? null };
  }

  async show(impi: string): Promise<Provisioned> {
    const r = await this.store.get(impi);
    return r ? { kind: "ok", view: await viewOf(this.store, r) } : { kind: "not-found" };
  }

  async provision(body: unknown): Promise<Provisioned> {
    const v = validateCreate(body, this.ctx);
    if (!v.ok) return { kind: "invalid", errors: v.errors };
    const { store } = this;
    const exists = await unlessExists(() => store.create([store.secrets.seal(v.value)], [v.value.sqn]));
    if (exists) return exists;
    return this.show(v.value.impi);
  }

  async update(impi: string, body: unknown): Promise<Provisioned> {
    const out = await unlessExists(() => this.store.update(impi, (existing, secrets) => validatePatch(body, existing, secrets)));
    return out.kind === "ok" ? { kind: "ok", view: await viewOf(this.store, out.record) } : out;
  }

  remove(impi: string): Promise<boolean> {
    return this.store.remove(impi);
  }

  async authFailures(impi: string): Promise<{ kind: "ok"; failures: AuthFailure[] } | { kind: "not-found" }> {
    const r = await this.store.get(impi);
    return r ? { kind: "ok", failures: await this.store.authFailures(r.impi) } : { kind: "not-found" };
  }

  /** Bulk import: every valid row or none (unless `skipInvalid`: then the valid ones), each row's error named. */
  async import(rows: ImportRow[], parseErrors: RowError[], skipInvalid: boolean): Promise<Imported> {
    const checked = await checkRows(rows, this.store, this.ctx);
    const errors = [...parseErrors, ...checked.errors];
    if (errors.length > 0 && !skipInvalid) return { kind: "invalid", errors };
    const written = await unlessExists(() => writeRows(this.store, checked.valid));
    if (typeof written !== "number") return written;
    return { kind: "ok", imported: written, skipped: errors };
  }
}
