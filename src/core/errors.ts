/**
 * The catalogue of stable error codes. Every error the API returns carries one of these codes;
 * the HTTP layer maps each code to a status in one place (src/http/errors.ts).
 */
export const ErrorCodes = {
  VALIDATION: 'validation_failed',
  UNAUTHENTICATED: 'unauthenticated',
  FORBIDDEN: 'forbidden',
  CSRF: 'csrf_failed',
  NOT_FOUND: 'not_found',
  CONFLICT: 'conflict',
  INVALID_STATE: 'invalid_state',
  /** It existed but is no longer usable (an expired or already used invitation). */
  GONE: 'gone',
  RATE_LIMITED: 'rate_limited',
  PAYLOAD_TOO_LARGE: 'payload_too_large',
  UNAVAILABLE: 'unavailable',
  /** A messaging platform (Telegram, Viber, Graph, an SMSC) refused a call or could not be reached. */
  PLATFORM: 'platform_error',
  INTERNAL: 'internal_error',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `query.managerId` or `body.email`. */
  field: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly fields?: FieldIssue[];
  readonly retryAfterSeconds?: number;
  constructor(code: ErrorCode, message: string, opts: { fields?: FieldIssue[]; retryAfterSeconds?: number } = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.fields = opts.fields;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

export class ValidationError extends AppError {
  constructor(fields: FieldIssue[]) {
    super(
      ErrorCodes.VALIDATION,
      `Invalid ${fields.map((f) => f.field).join(', ')}: ${fields.map((f) => f.message).join('; ')}`,
      {
        fields,
      },
    );
    this.name = 'ValidationError';
  }
}

export function invalid(field: string, message: string): ValidationError {
  return new ValidationError([{ field, message }]);
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super(ErrorCodes.NOT_FOUND, `${what} not found`);
    this.name = 'NotFoundError';
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You do not have access to this resource') {
    super(ErrorCodes.FORBIDDEN, message);
    this.name = 'ForbiddenError';
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Sign in or send a valid API token') {
    super(ErrorCodes.UNAUTHENTICATED, message);
    this.name = 'UnauthenticatedError';
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super(ErrorCodes.CONFLICT, message);
    this.name = 'ConflictError';
  }
}

export class InvalidStateError extends AppError {
  constructor(message: string) {
    super(ErrorCodes.INVALID_STATE, message);
    this.name = 'InvalidStateError';
  }
}

export class GoneError extends AppError {
  constructor(message: string) {
    super(ErrorCodes.GONE, message);
    this.name = 'GoneError';
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number) {
    super(ErrorCodes.RATE_LIMITED, `Too many requests; retry after ${retryAfterSeconds} s`, { retryAfterSeconds });
    this.name = 'RateLimitedError';
  }
}

/**
 * A messaging platform's own answer to a failed call, as the platform worded it (the UI shows
 * `description` plainly). `status` is the HTTP status (0 when the platform was not reached at all:
 * DNS, refused connection, timeout); `code` is the platform's own code (Telegram error_code, Viber
 * status, Graph error.code, an SMPP command_status) or a transport code such as `ETIMEDOUT`.
 * Not an AppError: a service decides what a refusal means for its caller.
 */
export class PlatformError extends Error {
  readonly platform: 'telegram' | 'viber' | 'messenger' | 'smpp' | 'sms-http';
  readonly status: number;
  readonly code: string | number;
  readonly subcode?: number;
  readonly description: string;
  /** Seconds to wait before retrying, when the platform said so (Telegram retry_after, Graph rate limits). */
  readonly retryAfter?: number;
  /** Not reached, overloaded or failing on its side: worth retrying later. */
  readonly transient: boolean;
  constructor(args: {
    platform: PlatformError['platform'];
    status: number;
    code: string | number;
    subcode?: number;
    description: string;
    retryAfter?: number;
    /** Defaults to: not reached, HTTP 429 or 5xx, or a retryAfter given. */
    transient?: boolean;
  }) {
    super(`${args.platform}: ${args.description}`);
    this.name = 'PlatformError';
    this.platform = args.platform;
    this.status = args.status;
    this.code = args.code;
    this.subcode = args.subcode;
    this.description = args.description;
    this.retryAfter = args.retryAfter;
    this.transient =
      args.transient ??
      (args.status === 0 || args.status === 429 || args.status >= 500 || args.retryAfter !== undefined);
  }
}
