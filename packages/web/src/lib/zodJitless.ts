/**
 * `@sd-jwt/sd-jwt-vc` validates with zod 4, which probes for `new Function` (its JIT) when its schemas are built: the
 * portal's CSP forbids eval, so the probe is a CSP violation (UX 14). zod keeps its settings on
 * `globalThis.__zod_globalConfig`, read when it is evaluated; jitless is the interpreter it falls back to anyway.
 * Imported first by `main.tsx`, so it runs before any chunk that evaluates zod.
 */
const settings = globalThis as { __zod_globalConfig?: { jitless?: boolean } };
settings.__zod_globalConfig ??= {};
settings.__zod_globalConfig.jitless = true;

export {};
