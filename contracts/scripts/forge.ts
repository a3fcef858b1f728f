/**
 * Runs the npm-installed forge binary in `contracts/` with the given arguments
 * (`tsx scripts/forge.ts test`), passing its exit code through. npm may skip the
 * package's postinstall, so the binary is made executable here if needed.
 */
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const contractsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function findForge(): string {
  const platformPackage = `@foundry-rs/forge-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`;
  const require = createRequire(path.join(contractsDir, 'package.json'));
  const candidates: string[] = [];
  try {
    candidates.push(
      path.join(path.dirname(require.resolve(`${platformPackage}/package.json`)), 'bin', 'forge'),
    );
  } catch {
    // not resolvable: fall back to the hoisted location
  }
  candidates.push(path.join(contractsDir, '..', 'node_modules', platformPackage, 'bin', 'forge'));
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`forge binary not found (looked in ${candidates.join(', ')}); run npm install`);
  return found;
}

function ensureExecutable(file: string): void {
  try {
    accessSync(file, constants.X_OK);
  } catch {
    chmodSync(file, 0o755);
  }
}

const forge = findForge();
ensureExecutable(forge);
ensureExecutable(path.join(contractsDir, 'scripts', 'solc.cjs'));

const child = spawn(forge, process.argv.slice(2), { cwd: contractsDir, stdio: 'inherit' });
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0));
});
