/** Schemas shared by the vault's routes (docs/vault.md). */
import { Type } from '@sinclair/typebox';

export const Bytes32Schema = Type.String({
  pattern: '^0x[0-9a-fA-F]{64}$',
  description: '32 bytes of 0x-hex',
});
export const SignatureSchema = Type.String({
  pattern: '^0x[0-9a-fA-F]{130}$',
  description: '65-byte signature',
});
export const UintSchema = Type.String({
  pattern: '^[0-9]{1,78}$',
  description: 'unsigned integer (decimal)',
});
export const StanzaSchema = Type.String({
  minLength: 1,
  maxLength: 4096,
  description: 'age recipient stanza text',
});
export const HexSchema = Type.String({ pattern: '^0x[0-9a-fA-F]*$' });

/** A signed EIP-712 part: nonce, deadline (chain time) and signature. */
export const SignedPartSchema = Type.Object(
  { nonce: UintSchema, deadline: UintSchema, signature: SignatureSchema },
  { additionalProperties: false },
);
