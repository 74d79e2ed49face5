import type { z } from 'zod';
import { type FieldIssue, ValidationError } from './errors.js';

/**
 * Parses a verb's input with its zod schema, or throws one ValidationError naming every bad field
 * as `<prefix>.<path>` (`body.name`); an unknown key is named itself (`body.colour`: "is not a known
 * parameter"). The services that take input straight from a route or the CLI share this.
 */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, prefix = 'body'): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  throw new ValidationError(
    r.error.issues.map((i): FieldIssue => {
      const keys = i.code === 'unrecognized_keys' ? ((i as { keys?: string[] }).keys ?? []) : [];
      return {
        field: [prefix, ...i.path.map(String), keys.join(', ')].filter(Boolean).join('.'),
        message: keys.length ? 'is not a known parameter' : i.message,
      };
    }),
  );
}
