import { seedProject } from '../services/seed.js';
import type { Store } from '../store/open.js';

/**
 * `dziennik seed --project ID --dialogs N [--seed S]`: progress on standard error every few
 * seconds, a one-line summary on `out`. The store is already migrated by the caller.
 */
export async function seedCommand(
  args: { projectId: number; dialogs: number; seed?: number | undefined },
  store: Store,
  out: NodeJS.WritableStream,
): Promise<void> {
  const r = await seedProject(store, {
    projectId: args.projectId,
    dialogs: args.dialogs,
    seed: args.seed ?? 1,
    progress: (msg) => process.stderr.write(`${msg}\n`),
  });
  const seconds = r.ms / 1000;
  const rate = (n: number) => Math.round(n / Math.max(seconds, 0.001)).toLocaleString('en-US');
  out.write(
    `seeded project ${r.projectId}: ${r.dialogs.toLocaleString('en-US')} dialogs, ${r.messages.toLocaleString('en-US')} messages, ` +
      `${r.managers} managers in ${seconds.toFixed(1)} s (${rate(r.dialogs)} dialogs/s, ${rate(r.messages)} messages/s)\n`,
  );
}
