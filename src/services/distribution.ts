import { sql, type Transaction } from 'kysely';
import { ForbiddenError } from '../core/errors.js';
import type { Database } from '../store/types.js';
import type { DialogRow } from '../store/dialogs.js';
import { actorRole, actorUserId, type ProjectContext } from './context.js';
import { PRESENCE_TTL_MS } from './presence.js';
import { projectRules } from './service-switches.js';

/**
 * How new dialogs reach managers (SPEC §4.3), per project (`settings.distributionMode`):
 * - `first_to_answer` (default): a new dialog is unassigned, every manager is notified, and the
 *   first who answers (or takes it) becomes responsible;
 * - `round_robin`: a new dialog is given at once to the online manager (services/presence.ts) who
 *   waited longest since round-robin last gave them one; only they (and supervisors) are notified.
 *   With nobody online it stays unassigned, and the client's next message tries again; meanwhile
 *   any manager may take it, as in first_to_answer;
 * - `manual`: a new dialog stays unassigned until a supervisor or admin assigns it; managers see it
 *   but cannot answer, take or close it.
 */

export interface AutoAssignee {
  id: number;
  name: string;
}

/**
 * Round-robin: the online manager who waited longest, stamped as just served, inside the caller's
 * transaction. On PostgreSQL the membership row stays locked until the commit and concurrent new
 * dialogs skip it, so two dialogs arriving together go to two managers when two are online.
 */
export async function pickRoundRobin(
  trx: Transaction<Database>,
  pg: boolean,
  projectId: number,
  now: number,
): Promise<AutoAssignee | undefined> {
  const pick = async (skipLocked: boolean) => {
    let q = trx
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['users.id', 'users.name'])
      .where('memberships.project_id', '=', projectId)
      .where('memberships.role', '=', 'manager')
      .where('users.disabled', '=', 0)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('presence')
            .select(sql.lit(1).as('one'))
            .whereRef('presence.project_id', '=', 'memberships.project_id')
            .whereRef('presence.user_id', '=', 'memberships.user_id')
            .where('presence.seen_at', '>', now - PRESENCE_TTL_MS),
        ),
      )
      // Never served first, then the longest wait; the user id breaks ties (deterministic).
      .orderBy(sql`memberships.auto_assigned_at IS NOT NULL`)
      .orderBy('memberships.auto_assigned_at')
      .orderBy('users.id')
      .limit(1);
    if (pg) q = skipLocked ? q.forUpdate('memberships').skipLocked() : q.forUpdate('memberships');
    return q.executeTakeFirst();
  };
  // Everyone online is being given a dialog right now: wait for the first of them instead.
  const chosen = (await pick(true)) ?? (pg ? await pick(false) : undefined);
  if (!chosen) return undefined;
  await trx
    .updateTable('memberships')
    .set({ auto_assigned_at: now })
    .where('project_id', '=', projectId)
    .where('user_id', '=', chosen.id)
    .execute();
  return chosen;
}

export function isSupervising(ctx: ProjectContext): boolean {
  const r = actorRole(ctx.actor);
  return r === 'admin' || r === 'supervisor';
}

/** Manual distribution, and the actor is a manager: an unassigned dialog is not theirs to take. */
export async function unassignedWaitsForSupervisor(ctx: ProjectContext): Promise<boolean> {
  return !isSupervising(ctx) && (await projectRules(ctx, ctx.project.id)).distributionMode === 'manual';
}

/** Manual distribution: only a supervisor or admin decides who takes an unassigned dialog. */
export async function requireMayTakeUnassigned(ctx: ProjectContext, verb: string): Promise<void> {
  if (await unassignedWaitsForSupervisor(ctx)) throw manualDistributionRefusal(verb);
}

/**
 * Who may act on a dialog (answer, close, reopen): a supervisor, its responsible manager, or — when
 * nobody is responsible and the distribution mode lets managers take dialogs — any manager.
 */
export async function requireOwnOrUnassigned(ctx: ProjectContext, d: DialogRow, verb: string): Promise<void> {
  if (isSupervising(ctx)) return;
  const me = actorUserId(ctx.actor);
  if (me !== null && d.manager_id === me) return;
  if (d.manager_id === null) return requireMayTakeUnassigned(ctx, verb);
  throw new ForbiddenError(`Only the responsible manager or a supervisor can ${verb} this dialog`);
}

export function manualDistributionRefusal(verb: string): ForbiddenError {
  return new ForbiddenError(
    `Dialogs in this project are assigned by a supervisor: a manager cannot ${verb} an unassigned dialog`,
  );
}
