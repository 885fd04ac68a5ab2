/** Who issues a command: the token's `sub` and the connecting device. */
export type Actor = { user_id: string; device_id: string };

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor;
  }
  interface FastifyContextConfig {
    public?: boolean;
  }
}
