// Parse-check the PowerShell without PowerShell (none in Debian's archive): the tree-sitter
// PowerShell grammar (its wasm build from npm) parses each script, and any ERROR or MISSING node
// fails the check, with its line and column. Every script must also be ASCII (Windows PowerShell
// 5.1 reads a file without a BOM in the ANSI code page, so a non-ASCII character would change
// meaning) without a BOM. The `shell: pwsh`/`shell: powershell` steps of the workflows and the
// composite action are parsed too (their `${{ }}` expressions replaced by a placeholder).
// The grammar refuses a little valid PowerShell: bare words in a comma list (`a.exe, README.md`)
// and native arguments such as `-O2`; quote those ('README.md', '-O2').
//
//   node scripts/ps-parse.cjs [FILE.ps1 ...]   (default: every scripts/**/*.ps1 and .github step)
//   node scripts/ps-parse.cjs --self-test      (the check must fail on broken scripts)
//
// Needs `npm install web-tree-sitter tree-sitter-powershell yaml` in target/ps-parse (.ci/run).
// windows-latest parses the same files with PowerShell's own parser (.github/workflows/ci.yml).
const fs = require("node:fs");
const path = require("node:path");
// V8's optimizing compiler spends 10-15 s of CPU on the grammar's 1 MB of wasm, for parses that
// take milliseconds: the baseline compiler alone is enough.
require("node:v8").setFlagsFromString("--liftoff-only");

const root = path.join(__dirname, "..");
const modules = path.join(root, "target", "ps-parse", "node_modules");
const local = require("node:module").createRequire(path.join(modules, "..", "package.json"));
const { Parser, Language } = local("web-tree-sitter");

function problems(parser, text) {
  const out = [];
  if (text.charCodeAt(0) === 0xfeff) out.push("1:1 starts with a BOM");
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const col = [...line].findIndex((c) => c.codePointAt(0) > 0x7f);
    if (col >= 0) out.push(`${i + 1}:${col + 1} non-ASCII character (Windows PowerShell 5.1 would read it as ANSI)`);
  });
  const tree = parser.parse(text);
  const walk = (n) => {
    if (n.isMissing) {
      out.push(`${n.startPosition.row + 1}:${n.startPosition.column + 1} MISSING ${n.type}`);
    } else if (n.isError) {
      const snippet = text.slice(n.startIndex, Math.min(n.endIndex, n.startIndex + 40)).split("\n")[0];
      out.push(`${n.startPosition.row + 1}:${n.startPosition.column + 1} ERROR near ${JSON.stringify(snippet)}`);
    } else if (n.hasError) {
      for (const c of n.children) walk(c);
    }
  };
  walk(tree.rootNode);
  tree.delete();
  return out;
}

// The PowerShell run steps of a workflow or composite action: [name, text, line of the script].
function steps(file) {
  const YAML = local("yaml");
  const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
  const text = fs.readFileSync(file, "utf8");
  const out = [];
  const visit = (node) => {
    if (YAML.isMap(node)) {
      const shell = node.get("shell");
      const run = node.get("run", true);
      if ((shell === "pwsh" || shell === "powershell") && run && typeof run.value === "string") {
        const line = text.slice(0, run.range[0]).split("\n").length + 1;
        out.push([node.get("name") || node.get("id") || "step", run.value.replace(/\$\{\{[^}]*\}\}/g, "X"), line]);
      }
      for (const item of node.items) visit(item.value);
    } else if (YAML.isSeq(node)) {
      for (const item of node.items) visit(item);
    }
  };
  visit(doc.contents);
  return out;
}

function scripts(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name.startsWith(".") ? [] : scripts(p);
    return e.name.endsWith(".ps1") ? [p] : [];
  });
}

// Scripts that must fail, each for its own reason, and one that must pass.
const SELF_TEST = {
  "unclosed brace": "function f {\n  if ($x) { 'a' }\n",
  "unclosed paren": "$x = (1 +\n",
  "stray operator": "$x = 1 +* 2\n",
  "non-ASCII": "Write-Output '\u00e9'\n",
};
const SELF_TEST_OK = "param([string]$A = 'x')\n$r = & { if ($A) { @{ k = 1 } } else { $null } }\nexit 0\n";

(async () => {
  await Parser.init();
  const lang = await Language.load(path.join(modules, "tree-sitter-powershell", "tree-sitter-powershell.wasm"));
  const parser = new Parser();
  parser.setLanguage(lang);
  const args = process.argv.slice(2);
  if (args[0] === "--self-test") {
    let bad = 0;
    for (const [name, text] of Object.entries(SELF_TEST)) {
      const p = problems(parser, text);
      console.log(`self-test: ${name}: ${p.length ? "rejected (" + p[0] + ")" : "ACCEPTED"}`);
      if (!p.length) bad++;
    }
    const ok = problems(parser, SELF_TEST_OK);
    console.log(`self-test: a valid script: ${ok.length ? "REJECTED (" + ok.join("; ") + ")" : "accepted"}`);
    if (ok.length) bad++;
    process.exit(bad ? 1 : 0);
  }
  const files = args.length ? args : scripts(path.join(root, "scripts"));
  let failed = 0;
  for (const f of files) {
    const p = problems(parser, fs.readFileSync(f, "utf8"));
    const rel = path.relative(root, path.resolve(f));
    for (const line of p) console.log(`${rel}:${line}`);
    console.log(`ps-parse: ${rel}: ${p.length ? p.length + " problem(s)" : "ok"}`);
    if (p.length) failed++;
  }
  if (!files.length) {
    console.log("ps-parse: no .ps1 file found");
    failed++;
  }
  if (!args.length) {
    const gh = path.join(root, ".github");
    const yamls = [
      ...fs.readdirSync(path.join(gh, "workflows")).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(gh, "workflows", f)),
      path.join(gh, "actions", "condafix", "action.yml"),
    ];
    let n = 0;
    for (const y of yamls) {
      for (const [name, text, line] of steps(y)) {
        n++;
        // Non-ASCII is fine here: the runner passes a step's script to PowerShell as UTF-8.
        const p = problems(parser, text).filter((m) => !m.includes("non-ASCII"));
        const rel = path.relative(root, y);
        for (const m of p) {
          const [l, c] = m.split(" ")[0].split(":").map(Number);
          console.log(`${rel}:${line + l - 1}:${c} (step "${name}") ${m.slice(m.indexOf(" ") + 1)}`);
        }
        if (p.length) failed++;
      }
    }
    console.log(`ps-parse: ${n} PowerShell steps in .github: ${failed ? "see above" : "ok"}`);
  }
  process.exit(failed ? 1 : 0);
})();
