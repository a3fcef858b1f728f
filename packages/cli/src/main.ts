import { BaseError } from '@carekey/sdk/errors';
import { Command, CommanderError } from 'commander';
import { inertText } from './io/output.ts';

type Register = (program: Command) => void;

/**
 * Every command, loaded on demand: a run loads only the module of the command it names (the crypto, chain and FHIR
 * libraries take seconds to load), and `--help` loads them all.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  init: async () => (await import('./commands/init.ts')).registerInit,
  whoami: async () => (await import('./commands/whoami.ts')).registerWhoami,
  'publish-key': async () => (await import('./commands/publishKey.ts')).registerPublishKey,
  import: async () => (await import('./commands/import.ts')).registerImport,
  ls: async () => (await import('./commands/ls.ts')).registerLs,
  get: async () => (await import('./commands/get.ts')).registerGet,
  export: async () => (await import('./commands/export.ts')).registerExport,
  publish: async () => (await import('./commands/publish.ts')).registerPublish,
  share: async () => (await import('./commands/share.ts')).registerShare,
  grants: async () => (await import('./commands/grants.ts')).registerGrants,
  requests: async () => (await import('./commands/requests.ts')).registerRequests,
  'request-access': async () => (await import('./commands/requestAccess.ts')).registerRequestAccess,
  revoke: async () => (await import('./commands/revoke.ts')).registerRevoke,
  forget: async () => (await import('./commands/forget.ts')).registerForget,
  audit: async () => (await import('./commands/audit.ts')).registerAudit,
  timeline: async () => (await import('./commands/timeline.ts')).registerTimeline,
  labs: async () => (await import('./commands/labs.ts')).registerLabs,
  summary: async () => (await import('./commands/summary.ts')).registerSummary,
  guardians: async () => (await import('./commands/guardians.ts')).registerGuardians,
  guardian: async () => (await import('./commands/guardian.ts')).registerGuardian,
  recover: async () => (await import('./commands/recover.ts')).registerRecover,
  did: async () => (await import('./commands/did.ts')).registerDid,
  issuer: async () => (await import('./commands/issuer.ts')).registerIssuer,
  credential: async () => (await import('./commands/credential.ts')).registerCredential,
  emergency: async () => (await import('./commands/emergency.ts')).registerEmergency,
  notifications: async () => (await import('./commands/notifications.ts')).registerNotifications,
  gateway: async () => (await import('./commands/gateway.ts')).registerGateway,
  'import-export': async () => (await import('./commands/gatewayImportExport.ts')).registerImportExport,
};

/** Builds the `carekey` program with the command named in `argv` (or every command when none is named). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('carekey')
    .description('Carekey: your medical records, encrypted, shared on your terms')
    .showHelpAfterError()
    .exitOverride();
  const named = argv.slice(2).find((a) => !a.startsWith('-'));
  const wanted = named !== undefined && named in COMMANDS ? [named] : Object.keys(COMMANDS);
  for (const name of wanted) (await (COMMANDS[name] as () => Promise<Register>)())(program);
  return program;
}

/**
 * Runs the CLI and returns the exit code: 0 on success, 1 on a Carekey error (one line on stderr), 2 on bad usage.
 */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof BaseError) {
      process.stderr.write(`carekey: ${inertText(error.message)}\n`);
      return 1;
    }
    // Anything else is a bug or an environment fault: still one line, the stack only on request.
    if (process.env.CAREKEY_DEBUG) throw error;
    process.stderr.write(
      `carekey: unexpected error: ${error instanceof Error ? error.message.split('\n', 1)[0] : String(error)}\n`,
    );
    return 1;
  }
}
