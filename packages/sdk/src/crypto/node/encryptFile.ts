import { Encryptor, type EncryptParameters } from '../encrypt.ts';
import { BatchWriter, readPieces, withFiles } from './fileIo.ts';
import { nodeCryptoBackend } from './nodeBackend.ts';

/** Options of `encryptFile`. */
export type EncryptFileParameters = EncryptParameters & {
  /** Path of the plaintext file. */
  input: string;
  /** Path of the age file to write (replaced atomically; never left half-written). */
  output: string;
  /** fsync the output before renaming it into place (durable against power loss). Default false. */
  sync?: boolean;
};

/**
 * Encrypts a file to an age file, streaming with constant memory (a few MiB)
 * whatever its size. Uses OpenSSL unless `backend` says otherwise.
 * @example
 * await encryptFile({ input: 'scan.dcm', output: 'scan.dcm.age', recipients: [parseRecipient('age1...')] });
 */
export async function encryptFile(parameters: EncryptFileParameters): Promise<void> {
  const encryptor = await Encryptor.create({ backend: nodeCryptoBackend, ...parameters });
  await withFiles(
    parameters.input,
    parameters.output,
    async (input, output) => {
      const writer = new BatchWriter(output);
      for await (const piece of readPieces(input)) {
        encryptor.write(piece, writer.sink);
        await writer.flush();
      }
      encryptor.end(writer.sink);
      await writer.close();
    },
    parameters.sync ?? false,
  );
}
