// Validates rendered Kubernetes manifests offline against the Kubernetes API schemas
// (kubernetes-models) and the KEDA and prometheus-operator CRD schemas (@kubernetes-models/*).
//
//   node validate.mjs [--allow-unvalidated=group/version/Kind,...] FILE.yaml...
//
// Every document of every file must have apiVersion, kind and metadata.name, and a model that
// validates it; a document whose apiVersion/kind has no model fails unless --allow-unvalidated
// names it (the Java test then asserts those shapes itself, e.g. Strimzi KafkaTopic).
// Prints one JSON object on stdout:
//   {"documents": N, "validated": N, "unvalidated": ["kafka.strimzi.io/v1beta2/KafkaTopic ..."],
//    "errors": [{"file", "index", "kind", "name", "message"}]}
// Exit status: 0 all valid, 1 invalid documents, 2 usage error or missing npm modules
// (run `npm ci --prefix deploy/src/test/k8s-validate`).
// Limits: the models check types, required fields, enums and formats; they do not reject
// unknown fields.

import { readFileSync } from "node:fs";

const MODULES = {
  // apiVersion group -> module prefix; "" is the core group
  "": "kubernetes-models",
  apps: "kubernetes-models/apps",
  batch: "kubernetes-models/batch",
  policy: "kubernetes-models/policy",
  autoscaling: "kubernetes-models/autoscaling",
  "networking.k8s.io": "kubernetes-models/networking.k8s.io",
  "rbac.authorization.k8s.io": "kubernetes-models/rbac.authorization.k8s.io",
  "keda.sh": "@kubernetes-models/keda/keda.sh",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator/monitoring.coreos.com",
};

function fail(code, message) {
  process.stderr.write(`k8s-validate: ${message}\n`);
  process.exit(code);
}

let yaml;
try {
  yaml = (await import("js-yaml")).default;
  await import("kubernetes-models/v1");
  await import("@kubernetes-models/keda/keda.sh/v1alpha1");
  await import("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1");
} catch (e) {
  fail(
    2,
    `npm modules missing (${e.code || e.message}): run \`npm ci --prefix deploy/src/test/k8s-validate\``,
  );
}

const args = process.argv.slice(2);
const allowed = new Set();
const files = [];
for (const arg of args) {
  if (arg.startsWith("--allow-unvalidated=")) {
    arg
      .slice("--allow-unvalidated=".length)
      .split(",")
      .filter(Boolean)
      .forEach((s) => allowed.add(s));
  } else {
    files.push(arg);
  }
}
if (files.length === 0) {
  fail(2, "usage: node validate.mjs [--allow-unvalidated=group/version/Kind,...] FILE.yaml...");
}

async function modelFor(apiVersion, kind) {
  const slash = apiVersion.lastIndexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const prefix = MODULES[group];
  if (prefix === undefined) return undefined;
  try {
    const module = await import(`${prefix}/${version}`);
    return module[kind];
  } catch {
    return undefined;
  }
}

function messageOf(error) {
  if (Array.isArray(error.errors)) {
    return error.errors
      .map((e) => `${e.instancePath || "/"} ${e.message}${e.params ? " " + JSON.stringify(e.params) : ""}`)
      .join("; ");
  }
  return error.message;
}

const report = { documents: 0, validated: 0, unvalidated: [], errors: [] };
for (const file of files) {
  let docs;
  try {
    docs = yaml.loadAll(readFileSync(file, "utf8"));
  } catch (e) {
    report.errors.push({ file, index: -1, kind: "", name: "", message: `not YAML: ${e.message}` });
    continue;
  }
  let index = -1;
  for (const doc of docs) {
    index++;
    if (doc === null || doc === undefined) continue;
    report.documents++;
    const kind = doc.kind ?? "";
    const name = doc.metadata?.name ?? "";
    const where = { file, index, kind, name };
    if (typeof doc !== "object" || !doc.apiVersion || !kind || !name) {
      report.errors.push({ ...where, message: "apiVersion, kind and metadata.name are required" });
      continue;
    }
    const Model = await modelFor(doc.apiVersion, kind);
    if (!Model) {
      const id = `${doc.apiVersion}/${kind}`;
      if (allowed.has(id)) {
        report.unvalidated.push(`${id} ${name}`);
      } else {
        report.errors.push({ ...where, message: `no schema for ${id}` });
      }
      continue;
    }
    try {
      new Model(doc).validate();
      report.validated++;
    } catch (e) {
      report.errors.push({ ...where, message: messageOf(e) });
    }
  }
}
process.stdout.write(JSON.stringify(report) + "\n");
process.exit(report.errors.length === 0 ? 0 : 1);
