import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';

/**
 * The project's live events over the WebSocket `/api/v1/projects/{id}/stream` (ids only, SPEC §7).
 * Reconnects with exponential backoff and jitter; after a reconnect (or a `resync` from the server)
 * every query of the project is refetched, so what happened while offline shows up without a reload.
 */

export type StreamEvent =
  | { type: 'dialog.created' | 'dialog.updated'; dialogId: number }
  | { type: 'message.created' | 'message.status'; dialogId: number; messageId: number }
  | { type: 'resync' }
  | { type: 'hello' };

export function useProjectStream(projectId: number, onEvent?: (e: StreamEvent) => void) {
  const qc = useQueryClient();
  const [connected, setConnected] = useState(false);
  const handler = useRef(onEvent);
  handler.current = onEvent;

  useEffect(() => {
    let ws: WebSocket | null = null;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let closed = false;
    let everConnected = false;

    const refetchAll = () => void qc.invalidateQueries({ queryKey: ['p', projectId] });

    const connect = () => {
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      ws = new WebSocket(`${proto}//${location.host}/api/v1/projects/${projectId}/stream`);
      ws.onopen = () => {
        setConnected(true);
        if (everConnected || attempt > 0) refetchAll();
        everConnected = true;
        attempt = 0;
      };
      ws.onmessage = (m) => {
        let e: StreamEvent;
        try {
          e = JSON.parse(String(m.data)) as StreamEvent;
        } catch {
          return;
        }
        if (e.type === 'resync') refetchAll();
        else if (e.type !== 'hello') {
          void qc.invalidateQueries({ queryKey: ['p', projectId, 'dialogs'] });
          void qc.invalidateQueries({ queryKey: ['p', projectId, 'dialog', e.dialogId] });
        }
        handler.current?.(e);
      };
      ws.onclose = (ev) => {
        setConnected(false);
        if (closed) return;
        // 4401: signed out (or the token revoked); 4403: no longer a member of the project. The user's
        // own data (`me`) is reloaded, which shows the sign-in page or the projects left (and unmounts
        // this). If the user is still signed in (signed in again in another tab), the stream comes
        // back, after a long pause rather than at once.
        if (ev.code === 4401 || ev.code === 4403) {
          void qc.invalidateQueries({ queryKey: ['me'] });
          attempt = Math.max(attempt, 6);
        }
        const delay = Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
        attempt++;
        timer = setTimeout(connect, delay);
      };
    };
    connect();
    return () => {
      closed = true;
      if (timer) clearTimeout(timer);
      ws?.close();
    };
  }, [projectId, qc]);

  return { connected };
}
