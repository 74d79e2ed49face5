import websocket from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, ErrorCodes } from '../../core/errors.js';
import { Hub } from '../../realtime/hub.js';
import { type AppContext, actorRole, actorUserId } from '../../services/context.js';
import { Presence } from '../../services/presence.js';
import { dialogAudience } from '../../store/dialogs.js';
import type { RouteModule } from '../app.js';
import { authenticate, loadProjectContext, type Principal } from '../auth.js';
import { authenticateLimited } from '../limits.js';
import { observeWebSocketClients } from '../metrics.js';

/**
 * `GET /api/v1/projects/{projectId}/stream` (WebSocket, SPEC §7): the project's domain events as
 * JSON text frames `{ type, dialogId, messageId? }`, filtered per client by the visibility rule
 * (realtime/hub.ts). Authenticated like the API (session cookie or Bearer token) before the
 * upgrade; a cookie-authenticated upgrade must come from our own origin (a page elsewhere cannot
 * open the user's stream: cross-site WebSocket hijacking). Clients send nothing; a ping every 30 s
 * keeps proxies from closing idle connections.
 *
 * Access is checked again while the socket is open, as the API checks every request: at once when
 * the project's tokens or members change (`tokens.changed`, `access.changed`, from any node), and
 * every STREAM_RECHECK_MS otherwise (sign-out, an expired session). Signed out or revoked → close
 * 4401; no longer a member of the project → 4403 (the client stops reconnecting either way); another
 * role → 4000 "resync" (the client reconnects and gets the events of its new role).
 */

interface StreamClient {
  projectId: number;
  managerId: number | null;
}

const Params = z.object({ projectId: z.coerce.number().int().positive() });
const PING_MS = 30_000;
let recheckMs = 60_000;

/** Tests: how often an open stream re-checks its access (default 60 s). */
export function setStreamRecheckInterval(ms: number): void {
  recheckMs = ms;
}

type Verdict = 'ok' | 'signed-out' | 'no-access' | 'role-changed';
const CLOSE: Record<Exclude<Verdict, 'ok'>, [number, string]> = {
  'signed-out': [4401, 'unauthenticated'],
  'no-access': [4403, 'forbidden'],
  'role-changed': [4000, 'resync'],
};

function streamClientOf(ctx: Awaited<ReturnType<typeof loadProjectContext>>): StreamClient {
  const role = actorRole(ctx.actor);
  return { projectId: ctx.project.id, managerId: role === 'manager' ? (actorUserId(ctx.actor) ?? -1) : null };
}

/** The upgrade request's credentials, checked again (without extending the session). */
async function verifyAccess(app: AppContext, req: FastifyRequest, who: StreamClient): Promise<Verdict> {
  let principal: Principal;
  try {
    principal = await authenticate(app, req, { slideSession: false });
  } catch (err) {
    if (err instanceof AppError && err.code === ErrorCodes.UNAUTHENTICATED) return 'signed-out';
    throw err;
  }
  try {
    const now = streamClientOf(await loadProjectContext(app, req, principal, who.projectId));
    return now.managerId === who.managerId ? 'ok' : 'role-changed';
  } catch (err) {
    if (err instanceof AppError && err.code === ErrorCodes.NOT_FOUND) return 'no-access';
    throw err;
  }
}

export const streamRoutes: RouteModule = ({ fastify, app, metrics }) => {
  const hub = new Hub(app.bus, (p, d) => dialogAudience(app.store, p, d), {
    onError: (err) => app.log.error({ err }, 'realtime delivery failed'),
  });
  // A manager with a stream open is online (round-robin distribution: services/presence.ts).
  const presence = new Presence(app.store, app.clock, app.log);
  observeWebSocketClients(metrics, () => hub.size);
  // The open streams' access re-checks, per project: run at once when its tokens or members change.
  const rechecks = new Map<number, Set<() => void>>();
  const unsubscribe = app.bus.subscribe((e) => {
    // bus.resync: events may have been missed (a LISTEN outage), a revoke among them: every stream.
    if (e.type !== 'tokens.changed' && e.type !== 'access.changed' && e.type !== 'bus.resync') return;
    // After the other listeners: the token cache drops its entries on the same event.
    setImmediate(() => {
      const sets = e.type === 'bus.resync' ? [...rechecks.values()] : [rechecks.get(e.projectId) ?? new Set()];
      for (const set of sets) for (const recheck of set) recheck();
    });
  });
  fastify.addHook('preClose', async () => {
    unsubscribe();
    hub.closeAll(1012, 'restarting');
    hub.stop();
    await presence.stop();
  });

  fastify.register(websocket, { options: { maxPayload: 1024 } });
  fastify.register(async (scope) => {
    scope.route({
      method: 'GET',
      url: '/api/v1/projects/:projectId/stream',
      // Runs before the upgrade: a refusal is an ordinary HTTP error response.
      preValidation: async (req) => {
        const params = Params.safeParse(req.params);
        if (!params.success) throw new AppError(ErrorCodes.NOT_FOUND, 'Project not found');
        const principal = await authenticateLimited(app, req);
        if (principal.kind === 'session' && !sameOrigin(req.headers.origin, req.headers.host, app.config.publicUrl)) {
          throw new AppError(ErrorCodes.FORBIDDEN, 'The stream opens only from this application’s own pages');
        }
        const ctx = await loadProjectContext(app, req, principal, params.data.projectId);
        (req as { streamClient?: StreamClient }).streamClient = streamClientOf(ctx);
      },
      handler: async (_req, reply) => {
        reply
          .code(426)
          .header('upgrade', 'websocket')
          .send({
            error: { code: 'upgrade_required', message: 'Open this address as a WebSocket' },
          });
      },
      wsHandler: (socket, req) => {
        const who = (req as { streamClient?: StreamClient }).streamClient!;
        const remove = hub.add({
          projectId: who.projectId,
          managerId: who.managerId,
          send: (data) => socket.send(data),
          bufferedAmount: () => socket.bufferedAmount,
          close: (code, reason) => socket.close(code, reason),
        });
        // A manager token (-1) is nobody in particular: it never counts as an online manager.
        const leave = who.managerId !== null && who.managerId > 0 ? presence.enter(who.projectId, who.managerId) : null;
        const ping = setInterval(() => socket.ping(), PING_MS);
        ping.unref();
        let checking = false;
        const recheck = () => {
          if (checking || socket.readyState !== socket.OPEN) return;
          checking = true;
          verifyAccess(app, req, who)
            .then(
              (verdict) => {
                if (verdict !== 'ok') socket.close(...CLOSE[verdict]);
              },
              // The store failed, not the credentials: keep the socket and try again next time.
              (err) => app.log.warn({ err }, 'stream access re-check failed'),
            )
            .finally(() => {
              checking = false;
            });
        };
        // Spread over ±25%: sockets that reconnected together (a restart) must not all check at once.
        const timer = setInterval(recheck, recheckMs * (0.75 + Math.random() * 0.5));
        timer.unref();
        const mine = rechecks.get(who.projectId) ?? new Set<() => void>();
        rechecks.set(who.projectId, mine);
        mine.add(recheck);
        socket.on('close', () => {
          clearInterval(ping);
          clearInterval(timer);
          mine.delete(recheck);
          if (mine.size === 0 && rechecks.get(who.projectId) === mine) rechecks.delete(who.projectId);
          remove();
          leave?.();
        });
        socket.on('error', () => socket.terminate());
        // Clients have nothing to say; anything they send is ignored.
        socket.send(JSON.stringify({ type: 'hello' }));
      },
    });
  });
};

/** The Origin of a browser's upgrade request must be this server (its Host) or PUBLIC_URL's origin. */
function sameOrigin(origin: string | undefined, host: string | undefined, publicUrl: string): boolean {
  if (!origin) return false;
  try {
    const o = new URL(origin);
    if (host && o.host === host) return true;
    return o.origin === new URL(publicUrl).origin;
  } catch {
    return false;
  }
}
