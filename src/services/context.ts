import type { Config } from '../config.js';
import { type EventBus, InProcessBus } from '../realtime/bus.js';
import type { Store } from '../store/open.js';
import type { Role } from '../store/types.js';

export interface ProjectInfo {
  id: number;
  name: string;
  timeZone: string;
  language: string;
}

/** Who is acting: a signed-in user, an API token, a platform webhook, or the system itself. */
export type Actor =
  | { type: 'user'; id: number; name: string; role: Role }
  | { type: 'token'; id: number; name: string; role: Role }
  | { type: 'system'; name: string };

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What every service verb gets: the store, clock, config, and (for project verbs) project and actor. */
export interface AppContext {
  store: Store;
  bus: EventBus;
  config: Config & { secretKey: string };
  clock: () => number;
  log: Logger;
}

export interface ProjectContext extends AppContext {
  project: ProjectInfo;
  actor: Actor;
  /** Client IP for the audit log, when the verb came over HTTP. */
  ip?: string;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export function actorRole(actor: Actor): Role {
  return actor.type === 'system' ? 'admin' : actor.role;
}

/** The acting user's id when the actor is a person (managers' visibility hangs on it). */
export function actorUserId(actor: Actor): number | null {
  return actor.type === 'user' ? actor.id : null;
}

/** The one way to build an AppContext outside the HTTP app (CLI, tests, benchmarks). */
export function makeAppContext(args: {
  store: Store;
  config: Config & { secretKey: string };
  bus?: EventBus;
  clock?: () => number;
  log?: Logger;
}): AppContext {
  return {
    store: args.store,
    config: args.config,
    bus: args.bus ?? new InProcessBus(),
    clock: args.clock ?? Date.now,
    log: args.log ?? silentLogger,
  };
}
