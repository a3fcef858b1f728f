import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError } from './CliError.ts';

export type ReadSecretParameters = {
  /** What to ask, e.g. "Passphrase: ". */
  prompt: string;
  /** Environment variable that supplies the secret when there is no terminal (e.g. CAREKEY_PASSPHRASE). */
  envVar: string;
  /** Ask a second time and require the same answer (for a new passphrase). */
  confirm?: boolean;
};

/**
 * Reads a secret from the environment variable `envVar` if set, else from the terminal without echo.
 * Paste works. Without a terminal and without the variable, fails with a hint naming the variable.
 */
export async function readSecret(parameters: ReadSecretParameters): Promise<string> {
  const fromEnv = process.env[parameters.envVar];
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) {
    throw new CliError(`no terminal to ask for the secret`, { hint: `set ${parameters.envVar}` });
  }
  const first = await askHidden(parameters.prompt);
  if (parameters.confirm) {
    const second = await askHidden('Again, to confirm: ');
    if (second !== first) throw new CliError('the two entries differ');
  }
  return first;
}

async function askHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const muted = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
