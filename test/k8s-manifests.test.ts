// The Kubernetes manifests of deploy/k8s, checked offline: every object against the Kubernetes
// OpenAPI schema as the kubernetes-models package ships it (ajv validators generated from the
// API's OpenAPI document), every field name against the same API's types (the TypeScript
// compiler's excess-property check: an unknown or misspelt field fails, as kubectl's strict
// field validation would), then what a schema cannot see: Services that select no pod, probes and
// targetPorts naming no container port, Secrets and ConfigMap keys that nothing provides, and the
// NF config templates rendered and loaded by the project's own config loader.
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Service } from "kubernetes-models/v1";
import ts from "typescript";
import { afterAll, describe, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadConfig } from "../nf/config.js";
import { systemDeps } from "../nf/common/deps.js";
import { checkStoreConfig } from "../nf/common/store/redis-config.js";
import { loadOrCreateCa } from "../nf/eca/ca.js";

const DIR = join(import.meta.dirname, "..", "deploy", "k8s");
const ROOT = join(import.meta.dirname, "..");

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML
type Obj = Record<string, any>;

interface Kind {
  model: new (data: Obj) => { validate(): void };
  /** the kubernetes-models module and interface that type the object */
  module: string;
  iface: string;
}

const KINDS: Record<string, Kind> = {
  "v1/ConfigMap": { model: ConfigMap, module: "kubernetes-models/v1/ConfigMap", iface: "IConfigMap" },
  "v1/Service": { model: Service, module: "kubernetes-models/v1/Service", iface: "IService" },
  "apps/v1/Deployment": { model: Deployment, module: "kubernetes-models/apps/v1/Deployment", iface: "IDeployment" },
  "apps/v1/StatefulSet": { model: StatefulSet, module: "kubernetes-models/apps/v1/StatefulSet", iface: "IStatefulSet" },
  "batch/v1/Job": { model: Job, module: "kubernetes-models/batch/v1/Job", iface: "IJob" },
  "networking.k8s.io/v1/NetworkPolicy": {
    model: NetworkPolicy,
    module: "kubernetes-models/networking.k8s.io/v1/NetworkPolicy",
    iface: "INetworkPolicy",
  },
  "policy/v1/PodDisruptionBudget": {
    model: PodDisruptionBudget,
    module: "kubernetes-models/policy/v1/PodDisruptionBudget",
    iface: "IPodDisruptionBudget",
  },
};

/** The Secrets the README tells operators to create: name → keys (and whether the pods may lack it). */
const SECRETS: Record<string, { keys: string[]; optional?: boolean }> = {
  "gba-hss": { keys: ["master-key", "admin-token"] },
  "gba-zn": { keys: ["naf-token", "eca-token"] },
  "gba-eca-ca": { keys: ["ca.key", "ca.pem"] },
  "gba-redis": { keys: ["password"], optional: true },
};

interface Doc {
  file: string;
  obj: Obj;
}

function loadDocs(dir: string): Doc[] {
  const docs: Doc[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")) {
    for (const d of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
      const obj = d.toJS() as Obj | null;
      if (obj) docs.push({ file, obj });
    }
  }
  return docs;
}

const keyOf = (o: Obj) => `${o.apiVersion}/${o.kind}`;
const nameOf = (d: Doc) => `${d.file}: ${d.obj.kind} ${d.obj.metadata?.name}`;

/** ajv validation of every object; returns the problems. */
function schemaProblems(docs: Doc[]): string[] {
  const out: string[] = [];
  for (const d of docs) {
    const kind = KINDS[keyOf(d.obj)];
    if (!kind) {
      out.push(`${nameOf(d)}: ${keyOf(d.obj)} is not a kind this test knows`);
      continue;
    }
    try {
      new kind.model(d.obj).validate();
    } catch (err) {
      out.push(`${nameOf(d)}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** The TypeScript compiler on `const x: IKind = <object>` for every object: unknown fields and wrong types. */
function fieldProblems(docs: Doc[]): string[] {
  const file = join(ROOT, "test", "__k8s_manifest_types.ts");
  const imports = new Set<string>();
  const decls = docs.map((d, i) => {
    const kind = KINDS[keyOf(d.obj)];
    imports.add(`import type { ${kind.iface} } from "${kind.module}";`);
    return `// ${nameOf(d)}\nexport const m${i}: ${kind.iface} = ${JSON.stringify(d.obj, null, 1)};`;
  });
  const source = `${[...imports].join("\n")}\n${decls.join("\n")}\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (f, lang, ...rest) =>
    f === file ? ts.createSourceFile(f, source, lang) : getSourceFile(f, lang, ...rest);
  host.fileExists = (f) => f === file || fileExists(f);
  const program = ts.createProgram([file], options, host);
  const lines = source.split("\n");
  return ts.getPreEmitDiagnostics(program).map((diag) => {
    const line = diag.file && diag.start !== undefined ? diag.file.getLineAndCharacterOfPosition(diag.start).line : 0;
    let owner = "";
    for (let l = line; l >= 0 && !owner; l--) if (lines[l].startsWith("// ")) owner = lines[l].slice(3);
    return `${owner}: ${ts.flattenDiagnosticMessageText(diag.messageText, " ")}`;
  });
}

function podSpecs(docs: Doc[]): Array<{ d: Doc; spec: Obj; labels: Obj }> {
  return docs
    .filter((d) => ["Deployment", "StatefulSet", "Job"].includes(d.obj.kind))
    .map((d) => ({ d, spec: d.obj.spec.template.spec, labels: d.obj.spec.template.metadata?.labels ?? {} }));
}

/** What the schema cannot see: references between the objects. */
function referenceProblems(docs: Doc[]): string[] {
  const out: string[] = [];
  const pods = podSpecs(docs);
  const configMaps = new Map(docs.filter((d) => d.obj.kind === "ConfigMap").map((d) => [d.obj.metadata.name, d.obj]));
  const matches = (sel: Obj, labels: Obj) => Object.entries(sel).every(([k, v]) => labels[k] === v);

  for (const d of docs.filter((x) => x.obj.kind === "Service")) {
    const selected = pods.filter((p) => p.d.obj.kind !== "Job" && matches(d.obj.spec.selector, p.labels));
    if (selected.length === 0) out.push(`${nameOf(d)}: its selector matches no pod template`);
    for (const port of d.obj.spec.ports) {
      if (typeof port.targetPort !== "string") continue;
      for (const p of selected) {
        const names = p.spec.containers.flatMap((c: Obj) => (c.ports ?? []).map((cp: Obj) => cp.name));
        if (!names.includes(port.targetPort))
          out.push(`${nameOf(d)}: targetPort ${port.targetPort} is no port of ${nameOf(p.d)}`);
      }
    }
  }
  for (const d of docs.filter((x) => x.obj.kind === "NetworkPolicy" || x.obj.kind === "PodDisruptionBudget")) {
    const sel = d.obj.spec.podSelector?.matchLabels ?? d.obj.spec.selector?.matchLabels;
    if (!pods.some((p) => matches(sel, p.labels))) out.push(`${nameOf(d)}: selects no pod`);
  }
  for (const { d, spec, labels } of pods) {
    if (d.obj.kind !== "Job" && !matches(d.obj.spec.selector.matchLabels, labels))
      out.push(`${nameOf(d)}: selector does not match its template`);
    const volumes = new Map((spec.volumes ?? []).map((v: Obj) => [v.name, v]));
    for (const claim of d.obj.spec.volumeClaimTemplates ?? []) volumes.set(claim.metadata.name, claim);
    for (const v of spec.volumes ?? []) {
      if (v.configMap && !configMaps.has(v.configMap.name))
        out.push(`${nameOf(d)}: volume ${v.name} names ConfigMap ${v.configMap.name}, not in the bundle`);
      if (v.secret) {
        const s = SECRETS[v.secret.secretName];
        if (!s) out.push(`${nameOf(d)}: volume ${v.name} names Secret ${v.secret.secretName}, which the README does not ask for`);
      }
    }
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      const portNames = (c.ports ?? []).map((p: Obj) => p.name);
      for (const probe of [c.readinessProbe, c.livenessProbe].filter(Boolean)) {
        const port = probe.tcpSocket?.port ?? probe.httpGet?.port;
        if (typeof port === "string" && !portNames.includes(port))
          out.push(`${nameOf(d)} ${c.name}: probe port ${port} is not a port of the container`);
      }
      for (const m of c.volumeMounts ?? [])
        if (!volumes.has(m.name)) out.push(`${nameOf(d)} ${c.name}: mounts unknown volume ${m.name}`);
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (!ref) continue;
        const s = SECRETS[ref.name];
        if (!s?.keys.includes(ref.key))
          out.push(`${nameOf(d)} ${c.name}: env ${e.name} reads ${ref.name}/${ref.key}, which the README does not ask for`);
        else if (Boolean(s.optional) !== Boolean(ref.optional))
          out.push(`${nameOf(d)} ${c.name}: ${ref.name} must be ${s.optional ? "" : "not "}optional`);
      }
    }
  }
  return out;
}

const docs = loadDocs(DIR);
const work = mkdtempSync(join(tmpdir(), "gba-k8s-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("deploy/k8s against the Kubernetes API schema", () => {
  test("the bundle has the NF Deployments and Services, the config, and the Redis Cluster", () => {
    const names = docs.map((d) => `${d.obj.kind}/${d.obj.metadata.name}`);
    for (const nf of ["hss", "bsf", "naf", "eca"]) expect(names).toContain(`Deployment/gba-${nf}`);
    expect(names).toEqual(
      expect.arrayContaining(["ConfigMap/gba-config", "StatefulSet/redis-cluster", "Job/redis-cluster-create"]),
    );
    expect(names).toEqual(
      expect.arrayContaining([
        "Service/gba-hss",
        "Service/gba-bsf-ub",
        "Service/gba-bsf-zn",
        "Service/gba-naf",
        "Service/gba-eca",
      ]),
    );
  });

  test("every object validates against the OpenAPI schema", () => {
    expect(schemaProblems(docs)).toEqual([]);
  });

  test("every field is one the API defines, with the API's type", () => {
    expect(fieldProblems(docs)).toEqual([]);
  }, 60_000);

  test("references between objects resolve: selectors, ports, probes, volumes, Secrets", () => {
    expect(referenceProblems(docs)).toEqual([]);
  });

  test("kustomization.yaml lists every manifest", () => {
    const k = parseAllDocuments(readFileSync(join(DIR, "kustomization.yaml"), "utf8"))[0].toJS() as Obj;
    expect([...k.resources].sort()).toEqual(
      readdirSync(DIR)
        .filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml")
        .sort(),
    );
  });

  test("the checks fail on a broken bundle (misspelt field, wrong type, dangling references)", () => {
    const broken = structuredClone(docs);
    const hss = broken.find((d) => d.obj.kind === "Deployment" && d.obj.metadata.name === "gba-hss")!;
    const c = hss.obj.spec.template.spec.containers[0];
    c.readinessProbe.periodSecondz = 5;
    c.livenessProbe.tcpSocket.port = "zhh";
    hss.obj.spec.replicas = "two";
    c.env[0].valueFrom.secretKeyRef.name = "gba-hss-typo";
    const svc = broken.find((d) => d.obj.kind === "Service" && d.obj.metadata.name === "gba-naf")!;
    svc.obj.spec.selector = { "app.kubernetes.io/name": "gba-nafx" };
    expect(schemaProblems(broken).join("\n")).toMatch(/gba-hss: .*replicas must be integer/);
    const fields = fieldProblems(broken).join("\n");
    expect(fields).toMatch(/periodSecondz|replicas/);
    const refs = referenceProblems(broken).join("\n");
    expect(refs).toMatch(/probe port zhh/);
    expect(refs).toMatch(/gba-hss-typo/);
    expect(refs).toMatch(/Service gba-naf: its selector matches no pod template/);
  }, 60_000);
});

describe("the NF configuration in the ConfigMap", () => {
  const cm = docs.find((d) => d.obj.kind === "ConfigMap" && d.obj.metadata.name === "gba-config")!.obj;
  const render = join(work, "render.mjs");
  writeFileSync(render, cm.data["render.mjs"]);
  const env = {
    GBA_HSS_ADMIN_TOKEN: 'admin "token" with \\ and: colon',
    GBA_ZN_TOKEN_NAF: "naf-zn-secret-0123456789",
    GBA_ZN_TOKEN_ECA: "eca-zn-secret-0123456789",
  };

  test.each(["hss", "bsf", "naf", "eca"])(
    "%s.yaml renders with its Secret values and loads with the project's config loader",
    (nf) => {
      const from = join(work, `${nf}.template.yaml`);
      const to = join(work, `${nf}.yaml`);
      writeFileSync(from, cm.data[`${nf}.yaml`]);
      execFileSync(process.execPath, [render, from, to], { env: { ...process.env, ...env } });
      const { store, ...rest } = parseAllDocuments(readFileSync(to, "utf8"))[0].toJS() as Obj;
      // the store section (issue 20) is checked by its own parser; the rest by loadConfig over the defaults
      const storeCfg = checkStoreConfig(store);
      expect(storeCfg.backend).toBe("redis");
      if (storeCfg.backend !== "redis") return;
      const sts = docs.find((d) => d.obj.kind === "StatefulSet" && d.obj.metadata.name === "redis-cluster")!.obj;
      expect(storeCfg.nodes.map((n) => `${n.host}:${n.port}`)).toEqual(
        Array.from({ length: sts.spec.replicas }, (_, i) => `redis-cluster-${i}.${sts.spec.serviceName}:6379`),
      );
      const plain = join(work, `${nf}.plain.yaml`);
      writeFileSync(plain, JSON.stringify(rest));
      const cfg = loadConfig(plain) as unknown as Obj;
      expect(cfg[nf]).toBeDefined();
      if (nf === "hss") expect(cfg.hss.admin.token).toBe(env.GBA_HSS_ADMIN_TOKEN);
      if (nf === "bsf") expect(cfg.bsf.nafs.map((n: Obj) => n.token)).toEqual([env.GBA_ZN_TOKEN_NAF, env.GBA_ZN_TOKEN_ECA]);
      // the init container of the NF renders this very template
      const dep = docs.find((d) => d.obj.kind === "Deployment" && d.obj.metadata.name === `gba-${nf}`)!.obj;
      const init = dep.spec.template.spec.initContainers.find((c: Obj) => c.name === "render-config");
      expect(init.command).toEqual([
        "node",
        "/etc/gba/template/render.mjs",
        `/etc/gba/template/${nf}.yaml`,
        "/run/gba/config.yaml",
      ]);
      expect(dep.spec.template.spec.containers[0].args).toEqual([nf, "--config", "/run/gba/config.yaml", "--data", "/data"]);
    },
  );

  test("a missing Secret value stops the pod, naming the variable", () => {
    const from = join(work, "naf.template.yaml");
    writeFileSync(from, cm.data["naf.yaml"]);
    const r = spawnSync(process.execPath, [render, from, join(work, "out.yaml")], {
      env: { PATH: process.env.PATH },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("needs GBA_ZN_TOKEN_NAF (from a Secret)");
  });

  test("a CA made with the README's openssl commands is accepted by the ECA", async () => {
    const data = join(work, "ca-data");
    const dir = join(data, "eca");
    mkdirSync(dir, { recursive: true });
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = readme.slice(readme.indexOf("openssl genpkey"), readme.indexOf("kubectl create secret generic gba-eca-ca"));
    const script = block.replace(/\\\n\s*/g, " ").trim();
    // spawns: openssl (the README block run by sh)
    execFileSync("sh", ["-c", script], { cwd: dir, stdio: "pipe" });
    chmodSync(join(dir, "ca.key"), 0o600);
    const ca = await loadOrCreateCa(data, "eca.vehicleman.example", systemDeps);
    // the ECA took the given certificate instead of making its own
    expect(Buffer.from(ca.cert.rawData)).toEqual(new X509Certificate(readFileSync(join(dir, "ca.pem"))).raw);
  });

  test("the README tells how to create every Secret the manifests read", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const [name, s] of Object.entries(SECRETS)) {
      expect(readme).toContain(`kubectl create secret generic ${name}`);
      for (const k of s.keys)
        expect(readme).toMatch(new RegExp(`${name}[^\\n]*(\\n[^\\n]*){0,3}--from-[a-z]+=${k.replace(".", "\\.")}=`));
    }
  });
});
