/**
 * Loader for the C2SP CCTV age test kit (test helper, not shipped API).
 * Vector files: `key: value` lines, a blank line, then the age file
 * (zlib-compressed when `compressed: zlib`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';

export type AgeTestVector = {
  name: string;
  expect: 'success' | 'no match' | 'HMAC failure' | 'header failure' | 'payload failure' | 'armor failure';
  payload?: string;
  identities: string[];
  passphrases: string[];
  armored: boolean;
  fileKey?: string;
  comment?: string;
  body: Uint8Array;
};

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');

/** `shared/data/<name>` beside the repository (CI: a fresh clone with shared/ next to it). */
export function sharedDataPath(name: string): string {
  return path.resolve(repoRoot, '..', 'shared', 'data', name);
}

export function loadAgeTestKit(folder = sharedDataPath('age-testkit')): AgeTestVector[] {
  const dir = path.join(folder, 'testdata');
  if (!existsSync(dir)) throw new Error(`age test kit not found at ${dir}`);
  return readdirSync(dir)
    .sort()
    .map((name) => parseVector(name, readFileSync(path.join(dir, name))));
}

function parseVector(name: string, bytes: Buffer): AgeTestVector {
  const split = bytes.indexOf('\n\n');
  if (split < 0) throw new Error(`${name}: no blank line after the vector header`);
  const vector: AgeTestVector = {
    name,
    expect: 'success',
    identities: [],
    passphrases: [],
    armored: false,
    body: new Uint8Array(),
  };
  let compressed = false;
  for (const line of bytes.subarray(0, split).toString('utf8').split('\n')) {
    const colon = line.indexOf(': ');
    const key = line.slice(0, colon);
    const value = line.slice(colon + 2);
    switch (key) {
      case 'expect':
        vector.expect = value as AgeTestVector['expect'];
        break;
      case 'payload':
        vector.payload = value;
        break;
      case 'identity':
        vector.identities.push(value);
        break;
      case 'passphrase':
        vector.passphrases.push(value);
        break;
      case 'armored':
        vector.armored = value === 'yes';
        break;
      case 'compressed':
        if (value !== 'zlib') throw new Error(`${name}: unknown compression ${value}`);
        compressed = true;
        break;
      case 'file key':
        vector.fileKey = value;
        break;
      case 'comment':
        vector.comment = value;
        break;
      default:
        throw new Error(`${name}: unknown key ${key}`);
    }
  }
  const body = bytes.subarray(split + 2);
  vector.body = new Uint8Array(compressed ? inflateSync(body) : body);
  return vector;
}
