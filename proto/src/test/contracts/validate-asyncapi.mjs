// Parses an AsyncAPI document with the AsyncAPI parser (@asyncapi/parser) and the protobuf schema
// parser (@asyncapi/protobuf-schema-parser) registered, so that protobuf payloads are parsed and
// converted, not skipped.
//
//   node validate-asyncapi.mjs FILE.yaml
//
// Prints every diagnostic on stderr (severity, path, message), then one JSON object on stdout:
//   {"errors": N, "warnings": N,
//    "schemas": {"<components.schemas key>": {"title": "...", "properties": ["...", ...]}}}
// where "schemas" lists each protobuf schema of components.schemas as the parser converted it
// (the root message's name and its top-level properties: fields, and oneofs by their name).
// A multi-format schema that no registered schema parser converted (the parser itself lets it
// pass as it was written) is an error too.
// Exit status: 0 valid (no error-level diagnostic), 1 invalid, 2 usage error or missing npm
// modules (run `npm ci --prefix proto/src/test/contracts`).

import { readFileSync } from "node:fs";

const NPM_HINT = "run `npm ci --prefix proto/src/test/contracts`";
const PROTOBUF = "application/vnd.google.protobuf;version=3";

function fail(code, message) {
  process.stderr.write(`validate-asyncapi: ${message}\n`);
  process.exit(code);
}

let Parser, DiagnosticSeverity, ProtoBuffSchemaParser;
try {
  ({ Parser, DiagnosticSeverity } = await import("@asyncapi/parser"));
  ({ ProtoBuffSchemaParser } = await import("@asyncapi/protobuf-schema-parser"));
} catch (e) {
  fail(2, `npm modules missing (${e.code || e.message}): ${NPM_HINT}`);
}

const args = process.argv.slice(2);
if (args.length !== 1) {
  fail(2, "usage: node validate-asyncapi.mjs FILE.yaml");
}
let source;
try {
  source = readFileSync(args[0], "utf8");
} catch (e) {
  fail(2, `cannot read ${args[0]}: ${e.message}`);
}

const parser = new Parser();
parser.registerSchemaParser(ProtoBuffSchemaParser());
const { document, diagnostics } = await parser.parse(source, { source: args[0] });

const SEVERITY = ["error", "warning", "information", "hint"];
let errors = 0;
let warnings = 0;
for (const d of diagnostics) {
  if (d.severity === DiagnosticSeverity.Error) {
    errors++;
  } else if (d.severity === DiagnosticSeverity.Warning) {
    warnings++;
  }
  const line = d.range ? `:${d.range.start.line + 1}` : "";
  process.stderr.write(
    `${SEVERITY[d.severity] ?? d.severity} ${d.code} at ${(d.path || []).join(".")}${line}: ${d.message}\n`,
  );
}
if (document === undefined && errors === 0) {
  // the parser gives no document only with an error; count it even if it said nothing
  errors = 1;
  process.stderr.write("error: the parser returned no document\n");
}

if (document !== undefined) {
  // the parser accepts a multi-format schema of a format no registered parser knows and leaves it
  // as it was written: a payload nobody checked is an error here
  const unparsed = [];
  document.components().schemas().forEach((schema) => {
    if (isUnparsed(schema)) unparsed.push(`components.schemas.${schema.id()}`);
  });
  document.allMessages().forEach((message) => {
    if (message.hasPayload() && isUnparsed(message.payload())) {
      unparsed.push(`message ${message.id()} payload`);
    }
  });
  for (const where of unparsed) {
    errors++;
    process.stderr.write(`error unparsed-schema at ${where}: no schema parser took its schemaFormat\n`);
  }
}

const schemas = {};
if (document !== undefined) {
  // the protobuf schemas of components.schemas, as the protobuf schema parser converted them
  for (const schema of document.components().schemas()) {
    if (schema.schemaFormat() !== PROTOBUF) {
      continue;
    }
    schemas[schema.id()] = {
      title: schema.title() ?? null,
      properties: Object.keys(schema.properties() ?? {}),
    };
  }
}

process.stdout.write(JSON.stringify({ errors, warnings, schemas }) + "\n");
process.exit(errors > 0 ? 1 : 0);

/** A multi-format schema whose schema is still the text it was written as. */
function isUnparsed(schema) {
  const json = schema.json();
  return (
    typeof json === "object" &&
    json !== null &&
    typeof json.schemaFormat === "string" &&
    typeof json.schema === "string"
  );
}
