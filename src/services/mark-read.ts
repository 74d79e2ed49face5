import type { ProjectContext } from './context.js';
import { loadVisibleDialog } from './get-dialog.js';

/**
 * The workspace opened a dialog: its unread count goes back to 0 (issue 4 §2). Anyone who may see
 * the dialog may mark it read. Reading is not activity: `updated_at` stays as it is, so it neither
 * delays auto-close nor makes a concurrent close or transfer fail. An event is published only when
 * the count actually changed, so opening an already read dialog costs every workspace nothing.
 */
export async function markDialogRead(ctx: ProjectContext, id: number): Promise<void> {
  const d = await loadVisibleDialog(ctx, id);
  if (d.unread_count === 0) return;
  const res = await ctx.store.db
    .updateTable('dialogs')
    .set({ unread_count: 0 })
    .where('project_id', '=', ctx.project.id)
    .where('id', '=', d.id)
    .where('unread_count', '>', 0)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) > 0) {
    ctx.bus.publish({ type: 'dialog.updated', projectId: ctx.project.id, dialogId: d.id });
  }
}
