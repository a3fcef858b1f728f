import { encodeQR } from '@paulmillr/qr';
import { decodeQR } from '@paulmillr/qr/decode.js';
import { PortalError } from './errors.ts';

/**
 * QR codes of an identity (`@paulmillr/qr`: no dependencies, encoder and decoder): the clinician shows theirs, the
 * patient scans it with the camera or reads it from a picture. What a code says is always read by the SDK's
 * `parseIdentityRef`, exactly like a typed address: a QR code is another way of typing, never of trusting.
 */

/**
 * The dark modules of a QR code, row by row (a quiet zone of 2 modules included), checked to read back as `text`.
 *
 * `@paulmillr/qr` 0.3.0's decoder refuses some codes its encoder makes (`RS.decode: invalid errors number`, or a
 * crash), depending on the data, the mask and the pixels per module: for a few `did:ethr` identities in a hundred,
 * the camera scan never succeeded. So the code is decoded here at several scales before it is shown, and the first
 * of the eight masks that reads back at all of them is used instead when the encoder's choice does not.
 */
export function qrModules(text: string): boolean[][] {
  const chosen = encodeQR(text, 'raw', { ecc: 'medium', border: 2 });
  if (readsBack(chosen, text)) return chosen;
  for (let mask = 0; mask < 8; mask++) {
    const rows = encodeQR(text, 'raw', { ecc: 'medium', border: 2, mask });
    if (readsBack(rows, text)) return rows;
  }
  return chosen;
}

/** Pixels a module the read-back check draws a code at (the decoder is sensitive to the scale; a camera's varies). */
const CHECK_SCALES = [3, 4, 5, 6, 8, 12] as const;

/** Whether `rows`, drawn at each of {@link CHECK_SCALES} with 2 more light modules around, decodes to `text`. */
function readsBack(rows: boolean[][], text: string): boolean {
  return CHECK_SCALES.every((scale) => {
    const side = (rows.length + 4) * scale;
    const data = new Uint8ClampedArray(side * side * 4).fill(255);
    rows.forEach((row, y) => {
      row.forEach((dark, x) => {
        if (!dark) return;
        for (let dy = 0; dy < scale; dy++) {
          const start = ((y + 2) * scale + dy) * side + (x + 2) * scale;
          for (let i = start * 4; i < (start + scale) * 4; i += 4) data.fill(0, i, i + 3);
        }
      });
    });
    try {
      return decodeQR({ width: side, height: side, data }) === text;
    } catch {
      return false;
    }
  });
}

/** What a camera frame or a picture is, for the decoders: RGBA pixels. */
export type Pixels = { width: number; height: number; data: Uint8ClampedArray };

type Detector = { detect(source: ImageBitmapSource): Promise<{ rawValue: string }[]> };
type DetectorClass = {
  new (options: { formats: string[] }): Detector;
  getSupportedFormats?: () => Promise<string[]>;
};

let nativeDetector: Promise<Detector | undefined> | undefined;

/** The browser's own `BarcodeDetector` when it reads QR codes (Android, macOS, ChromeOS), else `undefined`. */
function barcodeDetector(): Promise<Detector | undefined> {
  nativeDetector ??= (async () => {
    const Native = (globalThis as { BarcodeDetector?: DetectorClass }).BarcodeDetector;
    if (Native === undefined) return undefined;
    try {
      const formats = (await Native.getSupportedFormats?.()) ?? ['qr_code'];
      return formats.includes('qr_code') ? new Native({ formats: ['qr_code'] }) : undefined;
    } catch {
      return undefined;
    }
  })();
  return nativeDetector;
}

/**
 * Reads the text of a QR code in an image: `BarcodeDetector` where the browser has one, else the JavaScript decoder. `undefined` when there is no readable code.
 */
export async function readQr(
  source: ImageBitmap | HTMLVideoElement,
  pixels: () => Pixels,
): Promise<string | undefined> {
  const native = await barcodeDetector();
  if (native !== undefined) {
    try {
      const [found] = await native.detect(source);
      if (found !== undefined) return found.rawValue;
    } catch {
      // fall through to the JavaScript decoder
    }
  }
  try {
    return decodeQR(pixels());
  } catch {
    return undefined; // no finder patterns, or not a QR code the decoder can read
  }
}

/** Largest side an image is scaled down to before decoding (a phone photo is 4000 px; a QR needs far less). */
const MAX_SIDE = 1200;

function pixelsOf(
  source: CanvasImageSource,
  width: number,
  height: number,
  canvas: HTMLCanvasElement = document.createElement('canvas'),
): Pixels {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (context === null) throw new PortalError('This browser cannot read pictures here.');
  context.drawImage(source, 0, 0, w, h);
  return { width: w, height: h, data: context.getImageData(0, 0, w, h).data };
}

/**
 * Reads a QR code from a picture the person chose (a photo or a screenshot).
 *
 * @throws {PortalError} when the file is not a picture, or holds no readable QR code.
 */
export async function readQrFromFile(file: Blob): Promise<string> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new PortalError(
      'That file is not a picture this browser can open. Choose a photo or screenshot of the QR code.',
    );
  }
  try {
    const text = await readQr(bitmap, () => pixelsOf(bitmap, bitmap.width, bitmap.height));
    if (text === undefined)
      throw new PortalError(
        'No QR code could be read in that picture. Try a sharper, closer picture, or type the address.',
      );
    return text;
  } finally {
    bitmap.close();
  }
}

/** A running camera scan; `stop()` releases the camera. */
export type CameraScan = { stop(): void };

/**
 * Scans QR codes with the camera into `video` (the back camera on a phone): every few frames it tries to read one;
 * `onText` gets the first text found, then the camera is released.
 *
 * @throws {PortalError} when there is no camera or the person refused it.
 */
export async function scanWithCamera(
  video: HTMLVideoElement,
  onText: (text: string) => void,
): Promise<CameraScan> {
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: 'environment' },
      audio: false,
    });
  } catch (error) {
    const name = (error as { name?: string }).name;
    throw new PortalError(
      name === 'NotAllowedError'
        ? 'The camera was not allowed. Allow it for this page, or read the QR code from a picture instead.'
        : 'No camera could be opened. Read the QR code from a picture, or type the address.',
    );
  }
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  video.srcObject = stream;
  video.muted = true;
  video.playsInline = true;
  await video.play().catch(() => {});
  // One canvas for every frame of this scan (a new 1280×720 canvas every 150 ms piles up until the next GC, and a
  // browser short of canvas memory answers no 2D context).
  const canvas = document.createElement('canvas');
  const tick = async () => {
    if (stopped) return;
    try {
      if (video.videoWidth > 0) {
        const text = await readQr(video, () => pixelsOf(video, video.videoWidth, video.videoHeight, canvas));
        if (stopped) return;
        if (text !== undefined) {
          stop();
          onText(text);
          return;
        }
      }
    } catch {
      // A frame that could not be read (no 2D context for a moment, a frame not decoded yet): try the next one. An
      // exception here used to end the loop silently, leaving "Point the camera" on screen for ever.
    }
    if (!stopped) timer = setTimeout(() => void tick(), 150);
  };
  void tick();
  return { stop };
}
