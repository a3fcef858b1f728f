#!/usr/bin/env node
// A `solc` executable for forge, backed by solc-js: this machine has no native
// solc and forge cannot download one (foundry.toml sets `offline = true`).
// Forge calls `solc --version` and `solc --standard-json [--allow-paths ..]
// [--base-path ..] [--include-path ..]` with the standard JSON on stdin.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const solc = require('solc');

const args = process.argv.slice(2);

if (args.includes('--version')) {
  // Forge parses the semver on the `Version:` line; keep the native CLI wording.
  const version = solc.version().replace(/\.Emscripten\.clang$/, '.Linux.g++');
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${version}\n`);
  process.exit(0);
}

/** Values of a repeated option, accepting `--opt value`, `--opt=value` and comma lists. */
function optionValues(name) {
  const values = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === name && i + 1 < args.length) values.push(...args[++i].split(','));
    else if (arg.startsWith(`${name}=`)) values.push(...arg.slice(name.length + 1).split(','));
  }
  return values.filter((v) => v.length > 0);
}

const basePath = optionValues('--base-path')[0] ?? process.cwd();
const roots = [basePath, ...optionValues('--include-path'), path.join(basePath, 'node_modules')];
// Walk up for hoisted node_modules (npm workspaces).
for (let dir = path.resolve(basePath); ; dir = path.dirname(dir)) {
  roots.push(path.join(dir, 'node_modules'));
  if (path.dirname(dir) === dir) break;
}

function findImport(importPath) {
  const candidates = path.isAbsolute(importPath)
    ? [importPath]
    : roots.map((root) => path.resolve(root, importPath));
  for (const candidate of candidates) {
    try {
      return { contents: fs.readFileSync(candidate, 'utf8') };
    } catch {
      // try the next root
    }
  }
  return { error: `File not found: ${importPath}` };
}

if (!args.includes('--standard-json')) {
  process.stderr.write('solc (solc-js shim): only --version and --standard-json are supported\n');
  process.exit(1);
}

const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', () => {
  const input = Buffer.concat(chunks).toString('utf8');
  process.stdout.write(solc.compile(input, { import: findImport }));
  process.stdout.write('\n');
});
