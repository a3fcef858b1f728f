import { encodeQR } from '@paulmillr/qr';
import { PortalError } from './errors.ts';

/**
 * QR codes of an identity (`@paulmillr/qr`: no dependencies, encoder and decoder): the clinician shows theirs, the
 * patient scans it with the camera or reads it from a picture. What a code says is always read by the SDK's
 * `parseIdentityRef`, exactly like a typed address: a QR code is another way of typing, never of trusting.
 */

/** The dark modules of a QR code, row by row (a quiet zone of 2 modules included). */
export function qrModules(text: string): boolean[][] {
  return encodeQR(text, 'raw', { ecc: 'medium', border: 2 });
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
 * Reads the text of a QR code in an image: `BarcodeDetector` where the browser has one, else the JavaScript decoder
 * (loaded only then). `undefined` when there is no readable code.
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
  const { decodeQR } = await import('@paulmillr/qr/decode.js');
  try {
    return decodeQR(pixels());
  } catch {
    return undefined; // no finder patterns, or not a QR code the decoder can read
  }
}

/** Largest side an image is scaled down to before decoding (a phone photo is 4000 px; a QR needs far less). */
const MAX_SIDE = 1200;

function pixelsOf(source: CanvasImageSource, width: number, height: number): Pixels {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
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
  const tick = async () => {
    if (stopped) return;
    if (video.videoWidth > 0) {
      const text = await readQr(video, () => pixelsOf(video, video.videoWidth, video.videoHeight));
      if (stopped) return;
      if (text !== undefined) {
        stop();
        onText(text);
        return;
      }
    }
    timer = setTimeout(() => void tick(), 150);
  };
  void tick();
  return { stop };
}
