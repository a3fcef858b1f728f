import { Decryptor, type DecryptParameters } from '../decrypt.ts';
import { BatchWriter, readPieces, withFiles } from './fileIo.ts';
import { nodeCryptoBackend } from './nodeBackend.ts';

/** Options of `decryptFile`. */
export type DecryptFileParameters = DecryptParameters & {
  /** Path of the age file (binary or armored). */
  input: string;
  /** Path of the plaintext to write. It appears only if the whole file authenticates. */
  output: string;
  /** fsync the output before renaming it into place (durable against power loss). Default false. */
  sync?: boolean;
};

/**
 * Decrypts an age file to a file, streaming with constant memory. The output
 * is written to a temporary file and renamed into place only once the whole
 * payload has authenticated, so a tampered or truncated file leaves nothing.
 * @throws the errors of `Decryptor` (invalid header, no identity matched, ...).
 */
export async function decryptFile(parameters: DecryptFileParameters): Promise<void> {
  const decryptor = new Decryptor({ backend: nodeCryptoBackend, ...parameters });
  await withFiles(
    parameters.input,
    parameters.output,
    async (input, output) => {
      const writer = new BatchWriter(output);
      for await (const piece of readPieces(input)) {
        await decryptor.write(piece, writer.sink);
        await writer.flush();
      }
      await decryptor.end(writer.sink);
      await writer.close();
    },
    parameters.sync ?? false,
  );
}
