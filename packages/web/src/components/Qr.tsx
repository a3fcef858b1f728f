import { parseIdentityRef, toDid } from '@carekey/sdk/identity';
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { plainError } from '../lib/errors.ts';
import { type CameraScan, qrModules, readQrFromFile, scanWithCamera } from '../lib/qr.ts';
import type { Session } from '../lib/session.ts';

/** A QR code drawn as one SVG path (no canvas, no image URL), dark on light whatever the theme. */
export function QrCode({ text, label }: { text: string; label: string }) {
  const { size, path } = useMemo(() => {
    const rows = qrModules(text);
    let d = '';
    rows.forEach((row, y) => {
      row.forEach((dark, x) => {
        if (dark) d += `M${x} ${y}h1v1h-1z`;
      });
    });
    return { size: rows.length, path: d };
  }, [text]);
  return (
    <svg
      className="qr"
      viewBox={`0 0 ${size} ${size}`}
      role="img"
      aria-label={label}
      shapeRendering="crispEdges"
      data-testid="identity-qr"
    >
      <rect width={size} height={size} className="qr-light" />
      <path d={path} className="qr-dark" />
    </svg>
  );
}

/** My DID as a QR code for a patient to scan, with the same text beside it (UX 7: a text alternative). */
export function MyIdentityQr({ session, heading }: { session: Session; heading: string }) {
  const id = useId();
  const [chainId, setChainId] = useState<number | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let live = true;
    session.node
      .describe()
      .then((d) => live && setChainId(d.chainId))
      .catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [session]);
  const did = chainId === undefined ? undefined : toDid({ address: session.identity, chainId });
  return (
    <section className="card identity-qr" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{heading}</h2>
      {error === undefined ? null : (
        <p className="error" role="alert">
          {plainError(error)}
        </p>
      )}
      {did === undefined ? (
        error === undefined ? (
          <p role="status">Preparing your QR code…</p>
        ) : null
      ) : (
        <>
          <QrCode text={did} label={`QR code of your Carekey identity ${did}`} />
          <p>
            A patient scans it in their Sharing page, or types it:{' '}
            <span className="mono" data-testid="my-did">
              {did}
            </span>
          </p>
          <p className="muted">It only says who you are; it gives nobody access to anything.</p>
        </>
      )}
    </section>
  );
}

/**
 * Fills an address from a QR code: the camera (where there is one) or a picture. What it reads must pass the SDK's
 * `parseIdentityRef` like a typed address; anything else is said in plain words and nothing is filled in.
 */
export function QrInput({ onAddress, disabled }: { onAddress: (text: string) => void; disabled?: boolean }) {
  const id = useId();
  const video = useRef<HTMLVideoElement>(null);
  const scan = useRef<CameraScan | undefined>(undefined);
  const [scanning, setScanning] = useState(false);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  useEffect(() => () => scan.current?.stop(), []);

  const accept = (text: string) => {
    try {
      const address = parseIdentityRef(text);
      setProblem(undefined);
      setStatus(`Read from the QR code: ${address}`);
      onAddress(text.trim());
    } catch (error) {
      setStatus(undefined);
      setProblem(`The QR code does not hold a Carekey address. ${plainError(error)}`);
    }
  };
  const stopCamera = () => {
    scan.current?.stop();
    scan.current = undefined;
    setScanning(false);
  };

  return (
    <div className="qr-input">
      <div className="actions">
        {scanning ? (
          <button type="button" className="secondary" onClick={stopCamera}>
            Stop the camera
          </button>
        ) : (
          <button
            type="button"
            className="secondary"
            disabled={disabled}
            onClick={() => {
              const element = video.current;
              if (element === null) return;
              setProblem(undefined);
              setStatus('Opening the camera…');
              setScanning(true);
              scanWithCamera(element, (text) => {
                scan.current = undefined;
                setScanning(false);
                accept(text);
              })
                .then((running) => {
                  scan.current = running;
                  setStatus('Point the camera at the QR code.');
                })
                .catch((error: unknown) => {
                  setScanning(false);
                  setStatus(undefined);
                  setProblem(plainError(error));
                });
            }}
          >
            Scan a QR code with the camera
          </button>
        )}
      </div>
      <div className="field">
        <label htmlFor={`${id}-file`}>Or read a QR code from a picture (a photo or screenshot)</label>
        <input
          id={`${id}-file`}
          type="file"
          accept="image/*"
          disabled={disabled}
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = '';
            if (file === undefined) return;
            setProblem(undefined);
            setStatus(`Reading ${file.name}…`);
            readQrFromFile(file)
              .then(accept)
              .catch((error: unknown) => {
                setStatus(undefined);
                setProblem(plainError(error));
              });
          }}
        />
      </div>
      <video
        ref={video}
        className="qr-video"
        hidden={!scanning}
        aria-label="Camera view for the QR code"
        muted
        playsInline
      />
      {status === undefined ? null : (
        <p role="status" className="muted">
          {status}
        </p>
      )}
      {problem === undefined ? null : (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
