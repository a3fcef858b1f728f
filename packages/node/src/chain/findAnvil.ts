import { accessSync, chmodSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AnvilNotFoundError } from '@carekey/sdk/errors';

export type FindAnvilParameters = {
  /** An explicit binary path (e.g. from `CAREKEY_ANVIL_BIN`); searched for in `@foundry-rs/anvil-<os>-<arch>` if absent. */
  binary?: string | undefined;
};

/** Absolute path of an executable `anvil` binary. */
export type FindAnvilReturnType = string;

/**
 * Locates the `anvil` binary of the embedded chain.
 *
 * `@foundry-rs/anvil` ships the binary in a per-platform optional package
 * (`@foundry-rs/anvil-linux-amd64/bin/anvil`, ...). npm may skip that package's
 * postinstall, leaving the file without its execute bit, so we add it here.
 *
 * @throws {AnvilNotFoundError} when no binary exists or it cannot be made executable.
 * @example
 * const anvil = findAnvil({ binary: process.env.CAREKEY_ANVIL_BIN });
 */
export function findAnvil(parameters: FindAnvilParameters = {}): FindAnvilReturnType {
  const path = parameters.binary ?? platformBinary();
  try {
    if (!statSync(path).isFile()) throw new Error('not a regular file');
  } catch (cause) {
    throw new AnvilNotFoundError(path, { cause });
  }
  try {
    accessSync(path, constants.X_OK);
  } catch {
    try {
      chmodSync(path, 0o755);
      accessSync(path, constants.X_OK);
    } catch (cause) {
      throw new AnvilNotFoundError(path, { cause });
    }
  }
  return path;
}

function platformBinary(): string {
  const os = process.platform === 'win32' ? 'win32' : process.platform;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${os}-${arch}`;
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', exe);
  } catch {
    return `${pkg}/bin/${exe}`;
  }
}
