import { actorRole, type ProjectContext } from './context.js';

/** Members of the project; emails only for admins and supervisors. */
export async function listMembers(ctx: ProjectContext) {
  const rows = await ctx.store.db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.id', 'users.name', 'users.email', 'memberships.role'])
    .where('memberships.project_id', '=', ctx.project.id)
    .where('users.disabled', '=', 0)
    .orderBy('users.name')
    .execute();
  const showEmail = actorRole(ctx.actor) !== 'manager';
  return rows.map((r) => ({ id: r.id, name: r.name, role: r.role, ...(showEmail ? { email: r.email } : {}) }));
}
