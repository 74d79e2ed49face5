import websocket from '@fastify/websocket';
import { z } from 'zod';
import { AppError, ErrorCodes } from '../../core/errors.js';
import { Hub } from '../../realtime/hub.js';
import { actorRole, actorUserId } from '../../services/context.js';
import { Presence } from '../../services/presence.js';
import { dialogAudience } from '../../store/dialogs.js';
import type { RouteModule } from '../app.js';
import { authenticate, loadProjectContext } from '../auth.js';
import { observeWebSocketClients } from '../metrics.js';

/**
 * `GET /api/v1/projects/{projectId}/stream` (WebSocket, SPEC §7): the project's domain events as
 * JSON text frames `{ type, dialogId, messageId? }`, filtered per client by the visibility rule
 * (realtime/hub.ts). Authenticated like the API (session cookie or Bearer token) before the
 * upgrade; a cookie-authenticated upgrade must come from our own origin (a page elsewhere cannot
 * open the user's stream: cross-site WebSocket hijacking). Clients send nothing; a ping every 30 s
 * keeps proxies from closing idle connections.
 */

interface StreamClient {
  projectId: number;
  managerId: number | null;
}

const Params = z.object({ projectId: z.coerce.number().int().positive() });
const PING_MS = 30_000;

export const streamRoutes: RouteModule = ({ fastify, app, metrics }) => {
  const hub = new Hub(app.bus, (p, d) => dialogAudience(app.store, p, d), {
    onError: (err) => app.log.error({ err }, 'realtime delivery failed'),
  });
  // A manager with a stream open is online (round-robin distribution: services/presence.ts).
  const presence = new Presence(app.store, app.clock, app.log);
  observeWebSocketClients(metrics, () => hub.size);
  fastify.addHook('preClose', async () => {
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
        const principal = await authenticate(app, req);
        if (principal.kind === 'session' && !sameOrigin(req.headers.origin, req.headers.host, app.config.publicUrl)) {
          throw new AppError(ErrorCodes.FORBIDDEN, 'The stream opens only from this application’s own pages');
        }
        const ctx = await loadProjectContext(app, req, principal, params.data.projectId);
        const role = actorRole(ctx.actor);
        (req as { streamClient?: StreamClient }).streamClient = {
          projectId: ctx.project.id,
          managerId: role === 'manager' ? (actorUserId(ctx.actor) ?? -1) : null,
        };
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
        socket.on('close', () => {
          clearInterval(ping);
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
