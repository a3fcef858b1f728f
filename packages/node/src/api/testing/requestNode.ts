import { request as httpRequest } from 'node:http';
import { type SignNodeRequestParameters, signNodeRequest } from '@carekey/sdk/protocol';
import type { LocalAccount } from 'viem';

export type RequestNodeParameters = {
  /** Base URL of the API, e.g. `http://127.0.0.1:54321`. */
  url: string;
  method: string;
  /** Path and query sent byte for byte (no normalisation: `../` stays `../`). */
  path: string;
  headers?: Record<string, string> | undefined;
  body?: Uint8Array | string | undefined;
};

export type RequestNodeReturnType = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The body parsed as JSON, or `undefined` if it is not JSON. */
  json: unknown;
};

/**
 * One raw HTTP/1.1 request with `node:http` (tests): unlike `fetch`, it sends the path exactly as given, so
 * traversal attempts reach the server unnormalised.
 */
export function requestNode(parameters: RequestNodeParameters): Promise<RequestNodeReturnType> {
  const { hostname, port } = new URL(parameters.url);
  const body =
    parameters.body === undefined
      ? undefined
      : typeof parameters.body === 'string'
        ? Buffer.from(parameters.body)
        : Buffer.from(parameters.body.buffer, parameters.body.byteOffset, parameters.body.byteLength);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port: Number(port),
        method: parameters.method,
        path: parameters.path,
        headers: {
          ...(body !== undefined ? { 'content-length': String(body.length) } : {}),
          ...parameters.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const all = Buffer.concat(chunks);
          let json: unknown;
          try {
            json = JSON.parse(all.toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: all, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export type SignedHeadersParameters = Omit<SignNodeRequestParameters, 'account'> & { account: LocalAccount };

/** The `Carekey-Auth` header for one call (tests and clients). */
export async function signedHeaders(parameters: SignedHeadersParameters): Promise<Record<string, string>> {
  return { 'carekey-auth': await signNodeRequest(parameters) };
}
