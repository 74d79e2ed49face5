import { type InfiniteData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type Dialog, type DialogDetail, get, type Member, type Message, type Page, post, qs } from '../../api';
import { useProject } from '../../session';

/**
 * The workspace's server state. Every key lives under ['p', projectId, ...], where the realtime hook
 * (realtime.ts) invalidates it: queues under ['p', id, 'dialogs'] (every event), a dialog and its
 * messages under ['p', id, 'dialog', dialogId] (that dialog's events). After a reconnect the hook
 * refetches everything under ['p', id], which is the catch-up.
 */

export type QueueKind = 'new' | 'mine' | 'all';

const QUEUE_PAGE = 50;
const MESSAGE_PAGE = 50;

export const keys = {
  queue: (projectId: number, kind: QueueKind) => ['p', projectId, 'dialogs', 'queue', kind] as const,
  dialog: (projectId: number, id: number) => ['p', projectId, 'dialog', id] as const,
  messages: (projectId: number, id: number) => ['p', projectId, 'dialog', id, 'messages'] as const,
  members: (projectId: number) => ['p', projectId, 'members'] as const,
};

/** Unassigned: status new. Mine: open with me responsible. All: every open dialog (supervisors). */
export function useQueue(kind: QueueKind, enabled = true) {
  const { project, base, me } = useProject();
  return useInfiniteQuery({
    queryKey: keys.queue(project.id, kind),
    enabled,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      get<Page<Dialog>>(
        `${base}/dialogs${qs({
          status: kind === 'new' ? 'new' : 'open',
          managerId: kind === 'mine' ? me.user.id : undefined,
          limit: QUEUE_PAGE,
          cursor: pageParam,
        })}`,
        signal,
      ),
    getNextPageParam: (last) => last.nextCursor,
    // A queue is what people stare at all day: keep it fresh even without events (a lost frame).
    staleTime: 5_000,
    refetchInterval: 60_000,
  });
}

/** The dialogs of a queue, most recent activity first. */
export function queueItems(data: InfiniteData<Page<Dialog>> | undefined): Dialog[] {
  if (!data) return [];
  const seen = new Set<number>();
  const out: Dialog[] = [];
  for (const p of data.pages) {
    for (const d of p.items) {
      if (seen.has(d.id)) continue;
      seen.add(d.id);
      out.push(d);
    }
  }
  const at = (d: Dialog) => Date.parse(d.lastMessageAt ?? d.createdAt);
  return out.sort((a, b) => at(b) - at(a) || b.id - a.id);
}

export function useDialog(id: number | null) {
  const { project, base } = useProject();
  return useQuery({
    queryKey: keys.dialog(project.id, id ?? 0),
    enabled: id !== null,
    queryFn: ({ signal }) => get<DialogDetail>(`${base}/dialogs/${id}`, signal),
    staleTime: 5_000,
  });
}

/** A dialog's messages, newest page first (order=desc); older pages load as one scrolls back. */
export function useMessagesHistory(id: number | null) {
  const { project, base } = useProject();
  return useInfiniteQuery({
    queryKey: keys.messages(project.id, id ?? 0),
    enabled: id !== null,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      get<Page<Message>>(
        `${base}/dialogs/${id}/messages${qs({ order: 'desc', limit: MESSAGE_PAGE, cursor: pageParam })}`,
        signal,
      ),
    getNextPageParam: (last) => last.nextCursor,
    staleTime: 5_000,
  });
}

/** Oldest first, without duplicates (a page boundary may move while new messages arrive). */
export function chronological(data: InfiniteData<Page<Message>> | undefined): Message[] {
  if (!data) return [];
  const byId = new Map<number, Message>();
  for (const p of data.pages) for (const m of p.items) if (!byId.has(m.id)) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id - b.id);
}

export function useMembers(enabled = true) {
  const { project, base } = useProject();
  return useQuery({
    queryKey: keys.members(project.id),
    enabled,
    queryFn: ({ signal }) => get<{ items: Member[] }>(`${base}/users`, signal).then((r) => r.items),
    staleTime: 5 * 60_000,
  });
}

/** The lifecycle verbs and the reply; each puts the server's answer into the cache at once. */
export function useDialogActions(id: number) {
  const qc = useQueryClient();
  const { project, base } = useProject();
  const onDialog = (d: Dialog) => {
    qc.setQueryData(keys.dialog(project.id, d.id), d);
    void qc.invalidateQueries({ queryKey: ['p', project.id, 'dialogs'] });
  };
  const assign = useMutation({
    mutationFn: (managerId: number) => post<Dialog>(`${base}/dialogs/${id}/assign`, { managerId }),
    onSuccess: onDialog,
  });
  const close = useMutation({
    mutationFn: (reason: string) =>
      post<Dialog>(`${base}/dialogs/${id}/close`, reason.trim() ? { reason: reason.trim() } : {}),
    onSuccess: onDialog,
  });
  const reopen = useMutation({
    mutationFn: () => post<Dialog>(`${base}/dialogs/${id}/reopen`, {}),
    onSuccess: onDialog,
  });
  const reply = useMutation({
    // The key makes sending the same text again after a lost answer safe (services/idempotency.ts).
    mutationFn: ({ text, key }: { text: string; key: string }) =>
      post<Message>(`${base}/dialogs/${id}/reply`, { text }, { 'idempotency-key': key }),
    onSuccess: (m) => {
      // Show the queued message at once; its status moves on with the realtime events.
      qc.setQueryData<InfiniteData<Page<Message>>>(keys.messages(project.id, id), (old) => {
        if (!old) return old;
        if (old.pages.some((p) => p.items.some((x) => x.id === m.id))) return old;
        const [first, ...rest] = old.pages;
        return {
          ...old,
          pages: [{ items: [m, ...(first?.items ?? [])], nextCursor: first?.nextCursor ?? null }, ...rest],
        };
      });
      void qc.invalidateQueries({ queryKey: keys.dialog(project.id, id) });
      void qc.invalidateQueries({ queryKey: ['p', project.id, 'dialogs'] });
    },
  });
  return { assign, close, reopen, reply };
}

/** Opening a dialog resets its unread count (POST .../read); the realtime event refreshes the queues. */
export function useMarkRead() {
  const qc = useQueryClient();
  const { project, base } = useProject();
  return useMutation({
    mutationFn: (id: number) => post<void>(`${base}/dialogs/${id}/read`, {}),
    onSuccess: (_v, id) => {
      qc.setQueryData<Dialog>(keys.dialog(project.id, id), (d) => (d ? { ...d, unreadCount: 0 } : d));
      void qc.invalidateQueries({ queryKey: ['p', project.id, 'dialogs'] });
    },
  });
}
