import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * TRUST_PROXY → which X-Forwarded-For entry is the client (rate limits, logs). A proxy appends the
 * address it saw to the end of the header, and anything before it came from the client and can be
 * forged: `true` (or `1`) trusts exactly one proxy, so the client is the last entry; a number N trusts
 * N proxies in a row (a CDN in front of nginx: 2); a list of addresses or CIDRs trusts those proxies
 * wherever they stand. `false` (or `0`): the socket's peer is the client and the header is ignored.
 */
export function trustProxySetting(v: string): false | number | string[] {
  if (v === 'false' || v === '0') return false;
  if (v === 'true') return 1;
  if (/^\d+$/.test(v)) return Number(v);
  return v.split(',').map((a) => a.trim());
}

/**
 * The one reader of process.env. Everything else gets a frozen Config passed in; tests build one
 * with `loadConfig({...})` and never touch process.env.
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const url = (what: string) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        return false;
      }
    }, `${what} must be an absolute http(s) URL`)
    .transform((v) => v.replace(/\/+$/, ''));

const envSchema = z.object({
  PORT: z
    .string()
    .default('3000')
    .refine((v) => /^\d{1,5}$/.test(v) && Number(v) <= 65535, 'PORT must be a port number, 0–65535')
    .transform(Number),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().trim().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .trim()
    .refine((v) => /^postgres(ql)?:\/\//.test(v), 'DATABASE_URL must start with postgres:// or postgresql://')
    .optional(),
  PUBLIC_URL: url('PUBLIC_URL').optional(),
  SECRET_KEY: z.string().min(32, 'SECRET_KEY must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  TELEGRAM_API_URL: url('TELEGRAM_API_URL').default('https://api.telegram.org'),
  VIBER_API_URL: url('VIBER_API_URL').default('https://chatapi.viber.com/pa'),
  GRAPH_API_URL: url('GRAPH_API_URL').default('https://graph.facebook.com/v21.0'),
  SMS_OUTBOUND_ONLY_PREFIXES: z
    .string()
    .default('48799')
    .transform((v) =>
      v
        .split(',')
        .map((p) => p.trim().replace(/^\+/, ''))
        .filter(Boolean),
    )
    .refine(
      (list) => list.every((p) => /^\d{1,15}$/.test(p)),
      'SMS_OUTBOUND_ONLY_PREFIXES must be comma-separated digits',
    ),
  /** `dziennik demo` only: the simulator's HTTP port (default PORT+1) and its SMSC port (default 2775). */
  DEMO_SIM_PORT: z
    .string()
    .refine((v) => /^\d{1,5}$/.test(v) && Number(v) <= 65535, 'DEMO_SIM_PORT must be a port number, 0–65535')
    .transform(Number)
    .optional(),
  DEMO_SMPP_PORT: z
    .string()
    .refine((v) => /^\d{1,5}$/.test(v) && Number(v) <= 65535, 'DEMO_SMPP_PORT must be a port number, 0–65535')
    .transform(Number)
    .optional(),
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v) => v.trim())
    .refine(
      (v) => /^(true|false|\d{1,2})$/.test(v) || v.split(',').every((a) => isIP(a.trim().split('/')[0]!) !== 0),
      'TRUST_PROXY must be true, false, a number of proxies, or a comma-separated list of proxy addresses/CIDRs',
    )
    .transform(trustProxySetting),
});

export type Config = Readonly<{
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  publicUrl: string;
  /** Undefined until resolved by `resolveSecretKey` (generated into DATA_DIR on first run). */
  secretKey: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  telegramApiUrl: string;
  viberApiUrl: string;
  graphApiUrl: string;
  smsOutboundOnlyPrefixes: readonly string[];
  /** Fastify's trustProxy: false, a number of proxy hops, or the proxies' addresses (see trustProxySetting). */
  trustProxy: false | number | string[];
  demoSimPort: number | undefined;
  demoSmppPort: number | undefined;
}>;

export class ConfigError extends Error {
  readonly problems: { variable: string; message: string }[];
  constructor(problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Reads and validates the variables of SPEC §7. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "unset": `FOO= dziennik start` must not be an error.
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') cleaned[key] = v;
  }
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })));
  }
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    secretKey: e.SECRET_KEY,
    logLevel: e.LOG_LEVEL,
    telegramApiUrl: e.TELEGRAM_API_URL,
    viberApiUrl: e.VIBER_API_URL,
    graphApiUrl: e.GRAPH_API_URL,
    smsOutboundOnlyPrefixes: Object.freeze(e.SMS_OUTBOUND_ONLY_PREFIXES),
    trustProxy: e.TRUST_PROXY,
    demoSimPort: e.DEMO_SIM_PORT,
    demoSmppPort: e.DEMO_SMPP_PORT,
  });
}
