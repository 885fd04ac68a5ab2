import type { FastifyInstance } from 'fastify';
import type {} from '../../command-side/actor.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DeviceParams, PushRegistrationReply, RegisterPushBody } from '../../contracts/push.ts';
import { NoContent } from '../../contracts/rest.ts';
import { NatterError } from '../../contracts/errors.ts';
import type { PushRegistry, PushTarget } from '../../ports/push.ts';
import { endpointAllowed } from '../../adapters/push/webpush.ts';

export type PushRouteDeps = {
  registry: PushRegistry;
  /** Hosts a Web Push subscription endpoint may point to; undefined when Web Push is not configured (any https endpoint is stored for the log provider). */
  webPushAllowedHosts: readonly string[] | undefined;
  clock?: () => number;
};

const reply = (target: PushTarget) => ({ device_id: target.device_id, platform: target.platform, created_at: target.created_at });

/** Devices of the caller register where their notifications go; one target per device, replaced on each call. */
export const pushRoutes = async (app: FastifyInstance, deps: PushRouteDeps) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const clock = deps.clock ?? Date.now;

  api.post(
    '/v1/devices/:device_id/push',
    {
      schema: {
        operationId: 'registerPush',
        summary: "Register where a device's notifications go (FCM, APNs or Web Push)",
        params: DeviceParams,
        body: RegisterPushBody,
        response: { 200: PushRegistrationReply },
      },
    },
    async (request) => {
      const body = request.body;
      const base = { user_id: request.actor.user_id, device_id: request.params.device_id, created_at: clock() };
      let target: PushTarget;
      if (body.platform === 'webpush') {
        if (deps.webPushAllowedHosts && !endpointAllowed(body.subscription.endpoint, deps.webPushAllowedHosts)) {
          throw new NatterError('invalid_request', 'the subscription endpoint is not a known push service');
        }
        if (Buffer.from(body.subscription.keys.p256dh, 'base64url').length !== 65 || Buffer.from(body.subscription.keys.auth, 'base64url').length !== 16) {
          throw new NatterError('invalid_request', 'keys.p256dh must be a 65-byte P-256 point and keys.auth 16 bytes, base64url');
        }
        target = { ...base, platform: 'webpush', subscription: { endpoint: body.subscription.endpoint, keys: body.subscription.keys } };
      } else {
        target = { ...base, platform: body.platform, token: body.token };
      }
      await deps.registry.register(target);
      return reply(target);
    },
  );

  api.get(
    '/v1/devices/:device_id/push',
    { schema: { operationId: 'getPushRegistration', summary: "A device's push registration", params: DeviceParams, response: { 200: PushRegistrationReply } } },
    async (request) => {
      const target = await deps.registry.get(request.actor.user_id, request.params.device_id);
      if (!target) throw new NatterError('push_target_not_found', `device ${request.params.device_id} has no push registration`);
      return reply(target);
    },
  );

  api.delete(
    '/v1/devices/:device_id/push',
    { schema: { operationId: 'unregisterPush', summary: 'Stop pushing to a device', params: DeviceParams, response: { 204: NoContent } } },
    async (request, res) => {
      await deps.registry.unregister(request.actor.user_id, request.params.device_id);
      return res.status(204).send(null);
    },
  );
};
