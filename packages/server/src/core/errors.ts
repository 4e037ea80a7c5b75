import { ErrorCode } from '@herald/protocol';

/** An error a client or API caller can act on: carries a protocol error code. */
export class HubError extends Error {
  override name = 'HubError';
  constructor(readonly code: ErrorCode, message: string, readonly field?: string) {
    super(message);
  }
  toBody() {
    return { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) };
  }
}

export const forbidden = (message: string) => new HubError(ErrorCode.Forbidden, message);
export const badRequest = (message: string, field?: string) => new HubError(ErrorCode.BadRequest, message, field);
export const limitExceeded = (message: string) => new HubError(ErrorCode.LimitExceeded, message);
export const unavailable = (message: string) => new HubError(ErrorCode.Unavailable, message);
export const internal = (message: string) => new HubError(ErrorCode.Internal, message);
