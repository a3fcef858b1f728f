import { writeFileSync } from 'node:fs';
import { encodeQR } from '@paulmillr/qr';
import { qrModules } from '../../src/lib/qr.ts';

/**
 * A QR code of `text` as a GIF (the encoder's own image output), `scale` pixels per module, in the mask the portal
 * itself would show it with: `@paulmillr/qr`'s decoder refuses about one code in 300 its encoder makes with its own
 * mask choice (a mistyped address in qrSharing.spec then read as "no QR code" and the CI run failed), and
 * {@link qrModules} picks a mask that reads back.
 */
export function qrGif(text: string, scale = 8): Uint8Array {
  const modules = JSON.stringify(qrModules(text));
  const mask = [undefined, 0, 1, 2, 3, 4, 5, 6, 7].find(
    (m) =>
      JSON.stringify(
        encodeQR(text, 'raw', { ecc: 'medium', border: 2, ...(m === undefined ? {} : { mask: m }) }),
      ) === modules,
  );
  return encodeQR(text, 'gif', { ecc: 'medium', border: 4, scale, ...(mask === undefined ? {} : { mask }) });
}

/**
 * Writes a Y4M video (what Chromium's fake camera plays: `--use-file-for-fake-video-capture`) showing a QR code of
 * `text`, black on white, centred in a `side` × `side` frame (the portal's own code for it), `frames` identical frames.
 */
export function writeQrY4m(path: string, text: string, side = 480, frames = 10): void {
  // The modules the portal itself shows for `text` (checked to read back), as a clinician's screen would.
  const modules = qrModules(text);
  const scale = Math.floor(side / modules.length);
  const offset = Math.floor((side - modules.length * scale) / 2);
  const luma = new Uint8Array(side * side).fill(235);
  modules.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (!dark) return;
      for (let dy = 0; dy < scale; dy++) {
        const start = (offset + y * scale + dy) * side + offset + x * scale;
        luma.fill(16, start, start + scale);
      }
    });
  });
  const chroma = new Uint8Array((side / 2) * (side / 2)).fill(128);
  const header = Buffer.from(`YUV4MPEG2 W${side} H${side} F10:1 Ip A1:1 C420jpeg\n`);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma, chroma]);
  writeFileSync(path, Buffer.concat([header, ...Array.from({ length: frames }, () => frame)]));
}
