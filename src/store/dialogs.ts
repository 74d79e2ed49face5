import { type ExpressionBuilder, type SelectQueryBuilder, sql } from 'kysely';
import type { Store } from './open.js';
import type { Database, DialogManagersTable, DialogsTable } from './types.js';
import type { Insertable, Kysely, Selectable } from 'kysely';

export type DialogRow = Selectable<DialogsTable>;

/** Resolved log filters: dates already turned into instants by the service. */
export interface DialogFilter {
  projectId: number;
  status: 'closed' | 'new' | 'open' | 'all';
  managerIds?: number[] | undefined;
  createdFrom?: number | undefined;
  /** Exclusive upper bound. */
  createdBefore?: number | undefined;
  channels?: string[] | undefined;
  source?: string | undefined;
  q?: string | undefined;
  /** Set for managers: only unassigned dialogs and those this user is or was responsible for. */
  visibleToManager?: number | undefined;
}

export type SortSpec = { sort: 'created' | 'manager'; order: 'asc' | 'desc' };

type DialogQuery = SelectQueryBuilder<Database, 'dialogs', object>;

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Applies every filter and the visibility rule to a query over `dialogs`. */
export function applyDialogFilter<Q extends DialogQuery>(store: Store, qb: Q, f: DialogFilter): Q {
  let q = qb.where('dialogs.project_id', '=', f.projectId) as Q;
  if (f.status !== 'all') q = q.where('dialogs.status', '=', f.status) as Q;
  if (f.managerIds && f.managerIds.length > 0) q = q.where('dialogs.manager_id', 'in', f.managerIds) as Q;
  if (f.createdFrom !== undefined) q = q.where('dialogs.created_at', '>=', f.createdFrom) as Q;
  if (f.createdBefore !== undefined) q = q.where('dialogs.created_at', '<', f.createdBefore) as Q;
  if (f.channels && f.channels.length > 0)
    q = q.where('dialogs.channel_type', 'in', f.channels as DialogRow['channel_type'][]) as Q;
  if (f.source) {
    const s = f.source;
    q = q.where((eb) => eb.or([eb('dialogs.source', '=', s.toLowerCase()), eb('dialogs.channel_group', '=', s)])) as Q;
  }
  if (f.q) q = q.where((eb) => searchCondition(store, eb, f.projectId, f.q!)) as Q;
  if (f.visibleToManager !== undefined) {
    const uid = f.visibleToManager;
    q = q.where((eb) =>
      eb.or([
        eb('dialogs.manager_id', 'is', null),
        eb.exists(
          eb
            .selectFrom('dialog_managers as dm')
            .select(sql.lit(1).as('one'))
            .whereRef('dm.project_id', '=', 'dialogs.project_id')
            .whereRef('dm.dialog_id', '=', 'dialogs.id')
            .where('dm.user_id', '=', uid),
        ),
      ]),
    ) as Q;
  }
  return q;
}

function searchCondition(store: Store, eb: ExpressionBuilder<Database, 'dialogs'>, projectId: number, raw: string) {
  const needle = raw.toLowerCase();
  const like = `%${escapeLike(needle)}%`;
  const inClient = sql<boolean>`dialogs.search_text LIKE ${like} ESCAPE '\\'`;
  let inMessages: ReturnType<typeof sql<boolean>>;
  if (store.dialect === 'postgres') {
    inMessages = sql<boolean>`dialogs.id IN (SELECT m.dialog_id FROM messages m WHERE m.project_id = ${projectId} AND m.text ILIKE ${like} ESCAPE '\\')`;
  } else if ([...needle].length >= 3) {
    // FTS5 trigram index: the needle as one quoted phrase (quotes doubled inside).
    const phrase = `"${needle.replace(/"/g, '""')}"`;
    inMessages = sql<boolean>`dialogs.id IN (SELECT m.dialog_id FROM messages m WHERE m.project_id = ${projectId} AND m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ${phrase}))`;
  } else {
    inMessages = sql<boolean>`dialogs.id IN (SELECT m.dialog_id FROM messages m WHERE m.project_id = ${projectId} AND dz_lower(m.text) LIKE ${like} ESCAPE '\\')`;
  }
  return eb.or([eb.val(inClient) as never, eb.val(inMessages) as never]);
}

/** The keyset tuple of a row for a sort: what the cursor carries. */
export function keyOf(row: Pick<DialogRow, 'manager_sort' | 'created_at' | 'id'>, sort: SortSpec): (string | number)[] {
  return sort.sort === 'manager' ? [row.manager_sort, row.created_at, row.id] : [row.created_at, row.id];
}

/** Orders by the sort and continues after `after` (a key from keyOf). */
export function applyKeyset<Q extends DialogQuery>(qb: Q, sort: SortSpec, after: (string | number)[] | undefined): Q {
  const dir = sort.order;
  const cmp = dir === 'desc' ? '<' : '>';
  let q = qb;
  if (sort.sort === 'manager') {
    if (after) {
      const [m, c, i] = after as [string, number, number];
      q = q.where((eb) =>
        eb(eb.refTuple('dialogs.manager_sort', 'dialogs.created_at', 'dialogs.id'), cmp, eb.tuple(m, c, i)),
      ) as Q;
    }
    return q.orderBy('dialogs.manager_sort', dir).orderBy('dialogs.created_at', dir).orderBy('dialogs.id', dir) as Q;
  }
  if (after) {
    const [c, i] = after as [number, number];
    q = q.where((eb) => eb(eb.refTuple('dialogs.created_at', 'dialogs.id'), cmp, eb.tuple(c, i))) as Q;
  }
  return q.orderBy('dialogs.created_at', dir).orderBy('dialogs.id', dir) as Q;
}

export async function listDialogs(
  store: Store,
  f: DialogFilter,
  sort: SortSpec,
  after: (string | number)[] | undefined,
  limit: number,
): Promise<DialogRow[]> {
  let q = store.db.selectFrom('dialogs').selectAll('dialogs');
  q = applyDialogFilter(store, q, f);
  q = applyKeyset(q, sort, after);
  return q.limit(limit).execute();
}

/** One dialog of the project, if the filter's visibility allows it; undefined otherwise. */
export async function findDialog(store: Store, projectId: number, id: number, visibleToManager?: number) {
  let q = store.db.selectFrom('dialogs').selectAll('dialogs').where('dialogs.id', '=', id);
  q = applyDialogFilter(store, q, { projectId, status: 'all', visibleToManager });
  return q.executeTakeFirst();
}

/**
 * Records that a user is (now) responsible for a dialog: the history that keeps a dialog visible to
 * everyone who ever handled it (SPEC §1). Once per user and dialog.
 */
export async function addDialogManager(db: Kysely<Database>, row: Insertable<DialogManagersTable>): Promise<void> {
  await db
    .insertInto('dialog_managers')
    .values(row)
    .onConflict((oc) => oc.columns(['project_id', 'dialog_id', 'user_id']).doNothing())
    .execute();
}

/** Who may see a dialog's realtime events (SPEC §1): unassigned, or its present and past managers. */
export async function dialogAudience(
  store: Store,
  projectId: number,
  dialogId: number,
): Promise<{ unassigned: boolean; managers: number[] }> {
  const d = await store.db
    .selectFrom('dialogs')
    .select('manager_id')
    .where('project_id', '=', projectId)
    .where('id', '=', dialogId)
    .executeTakeFirst();
  if (!d) return { unassigned: false, managers: [] };
  const rows = await store.db
    .selectFrom('dialog_managers')
    .select('user_id')
    .where('project_id', '=', projectId)
    .where('dialog_id', '=', dialogId)
    .execute();
  const managers = rows.map((r) => r.user_id);
  if (d.manager_id !== null && !managers.includes(d.manager_id)) managers.push(d.manager_id);
  return { unassigned: d.manager_id === null, managers };
}

/** When the person last wrote on this identity (any of its dialogs): Messenger's window runs from it. */
export async function lastInboundAt(store: Store, identityId: number, projectId: number): Promise<number | null> {
  const row = await store.db
    .selectFrom('messages')
    .innerJoin('dialogs', (j) =>
      j.onRef('dialogs.project_id', '=', 'messages.project_id').onRef('dialogs.id', '=', 'messages.dialog_id'),
    )
    .select((eb) => eb.fn.max('messages.created_at').as('at'))
    .where('dialogs.project_id', '=', projectId)
    .where('dialogs.identity_id', '=', identityId)
    .where('messages.direction', '=', 'in')
    .executeTakeFirst();
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}

/** Whether the client can still be written to on the dialog's channel (SPEC §4.2). */
export async function identityReachability(
  store: Store,
  projectId: number,
  identityId: number,
): Promise<{ reachable: boolean; reason: 'blocked' | 'unsubscribed' | null }> {
  const row = await store.db
    .selectFrom('client_identities')
    .select(['unreachable', 'unreachable_reason'])
    .where('project_id', '=', projectId)
    .where('id', '=', identityId)
    .executeTakeFirst();
  if (row?.unreachable !== 1) return { reachable: true, reason: null };
  return { reachable: false, reason: row.unreachable_reason === 'unsubscribed' ? 'unsubscribed' : 'blocked' };
}
