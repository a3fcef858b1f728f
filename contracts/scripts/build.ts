/**
 * Compiles the contracts with solc-js (in process) and writes
 * - `contracts/artifacts/<Name>.json` ({ abi, bytecode, deployedBytecode }), gitignored;
 * - `packages/sdk/src/chain/abi/<camelName>.ts` (`<camelName>Abi` and `<camelName>Bytecode`,
 *   both `as const`) and their `index.ts`, committed: a test recompiles and fails if they are stale.
 *
 * Run: `npm run build:contracts` (or `npx tsx contracts/scripts/build.ts`).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const contractsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoDir = path.resolve(contractsDir, '..');
export const abiDir = path.join(repoDir, 'packages', 'sdk', 'src', 'chain', 'abi');
const artifactsDir = path.join(contractsDir, 'artifacts');

/** The contracts exported to the SDK: source file (relative to `contracts/`) and contract name. */
export const exportedContracts = [
  {
    source: 'src/identity/DIDRegistry.sol',
    sourceUnit: 'ethr-did-registry/contracts/EthereumDIDRegistry.sol',
    name: 'EthereumDIDRegistry',
  },
  { source: 'src/RecordRegistry.sol', sourceUnit: 'src/RecordRegistry.sol', name: 'RecordRegistry' },
  { source: 'src/ConsentRegistry.sol', sourceUnit: 'src/ConsentRegistry.sol', name: 'ConsentRegistry' },
  { source: 'src/TrustedIssuers.sol', sourceUnit: 'src/TrustedIssuers.sol', name: 'TrustedIssuers' },
  { source: 'src/Emergency.sol', sourceUnit: 'src/Emergency.sol', name: 'Emergency' },
  { source: 'src/recovery/Recovery.sol', sourceUnit: 'src/recovery/Recovery.sol', name: 'Recovery' },
  {
    source: 'src/recovery/RecoveryAccount.sol',
    sourceUnit: 'src/recovery/RecoveryAccount.sol',
    name: 'RecoveryAccount',
  },
  {
    source: 'src/bench/NaivePointerStore.sol',
    sourceUnit: 'src/bench/NaivePointerStore.sol',
    name: 'NaivePointerStore',
  },
] as const;

/** Compiler settings; keep in step with `foundry.toml`. anvil 1.7 supports cancun. */
const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};

export type Artifact = {
  name: string;
  abi: unknown[];
  bytecode: `0x${string}`;
  deployedBytecode: `0x${string}`;
};

type SolcOutput = {
  errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string }[];
  contracts?: Record<
    string,
    Record<
      string,
      { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }
    >
  >;
};

type Solc = {
  compile(input: string, callbacks: { import(p: string): { contents: string } | { error: string } }): string;
};

function listSolidity(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listSolidity(full);
    return entry.name.endsWith('.sol') ? [full] : [];
  });
}

/** Resolves an import: project-relative paths, then the (hoisted) node_modules. */
function findImport(importPath: string): { contents: string } | { error: string } {
  for (const root of [
    contractsDir,
    path.join(contractsDir, 'node_modules'),
    path.join(repoDir, 'node_modules'),
  ]) {
    try {
      return { contents: readFileSync(path.join(root, importPath), 'utf8') };
    } catch {
      // try the next root
    }
  }
  return { error: `File not found: ${importPath}` };
}

/** Compiles every file under `contracts/src` and returns the exported contracts' artifacts. */
export function compileContracts(): Artifact[] {
  const require = createRequire(import.meta.url);
  const solc = require('solc') as Solc;
  const sources = Object.fromEntries(
    listSolidity(path.join(contractsDir, 'src'))
      .sort()
      .map((file) => [
        path.relative(contractsDir, file).split(path.sep).join('/'),
        { content: readFileSync(file, 'utf8') },
      ]),
  );
  const input = JSON.stringify({ language: 'Solidity', sources, settings });
  const output = JSON.parse(solc.compile(input, { import: findImport })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  return exportedContracts.map(({ sourceUnit, name }) => {
    const compiled = output.contracts?.[sourceUnit]?.[name];
    if (!compiled) throw new Error(`solc produced no ${name} in ${sourceUnit}`);
    return {
      name,
      abi: compiled.abi,
      bytecode: `0x${compiled.evm.bytecode.object}`,
      deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
    };
  });
}

/** `EthereumDIDRegistry` → `ethereumDidRegistry`, `RecordRegistry` → `recordRegistry`. */
export function camelName(name: string): string {
  const words = name.match(/[A-Z]+(?![a-z])|[A-Z][a-z0-9]*/g) ?? [name];
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : w[0] + w.slice(1).toLowerCase())).join('');
}

function formatTs(fileName: string, source: string): string {
  const biome = path.join(repoDir, 'node_modules', '.bin', 'biome');
  return execFileSync(biome, ['format', `--stdin-file-path=${fileName}`], {
    cwd: repoDir,
    input: source,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'ignore'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The generated SDK modules, file name → contents (formatted with the repo's Biome config). */
export function renderAbiModules(artifacts: Artifact[]): Map<string, string> {
  const header =
    '// Generated by contracts/scripts/build.ts from contracts/src. Do not edit: run `npm run build:contracts`.\n';
  const files = new Map<string, string>();
  for (const artifact of artifacts) {
    const camel = camelName(artifact.name);
    const source =
      `${header}\n/** ABI of \`${artifact.name}\`. */\nexport const ${camel}Abi = ${JSON.stringify(artifact.abi)} as const;\n\n` +
      `/** Creation bytecode of \`${artifact.name}\` (solc 0.8.30, optimizer 200 runs, cancun). */\n` +
      `export const ${camel}Bytecode = '${artifact.bytecode}' as const;\n`;
    files.set(`${camel}.ts`, formatTs(path.join(abiDir, `${camel}.ts`), source));
  }
  const names = artifacts.map((a) => camelName(a.name)).sort();
  const index = `${header}\n${names.map((n) => `export { ${n}Abi, ${n}Bytecode } from './${n}.ts';`).join('\n')}\n`;
  files.set('index.ts', formatTs(path.join(abiDir, 'index.ts'), index));
  return files;
}

function main(): void {
  const artifacts = compileContracts();
  mkdirSync(artifactsDir, { recursive: true });
  for (const artifact of artifacts) {
    const { name, ...rest } = artifact;
    writeFileSync(path.join(artifactsDir, `${name}.json`), `${JSON.stringify(rest, null, 2)}\n`);
  }
  mkdirSync(abiDir, { recursive: true });
  for (const [file, contents] of renderAbiModules(artifacts))
    writeFileSync(path.join(abiDir, file), contents);
  console.log(`built ${artifacts.map((a) => a.name).join(', ')} → ${path.relative(repoDir, abiDir)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
