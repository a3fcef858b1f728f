import { BaseError, type BaseErrorParameters } from '@carekey/sdk/errors';

/** The HTTP API could not bind its address (the port is taken, or the host is not local). */
export class ApiListenError extends BaseError {
  override name = 'ApiListenError';
  constructor(host: string, port: number, parameters: BaseErrorParameters = {}) {
    super(`the API cannot listen on ${host}:${port}`, {
      hint: 'another process may use the port: set CAREKEY_PORT (0 picks a free one)',
      ...parameters,
      details: { host, port, ...parameters.details },
    });
  }
}
