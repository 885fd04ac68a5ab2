import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatterEvent } from '../../contracts/events.ts';
import type { PushNotification, PushQueue, PushRegistry } from '../../ports/push.ts';
import type { ReadModels } from '../../ports/read-models.ts';
import type { Recorded } from '../../ports/projector.ts';
import { openDatabase, type SqliteDatabase } from '../../adapters/sqlite/database.ts';
import { createSqlitePushRegistry } from '../../adapters/sqlite/push-registry.ts';
import { createMemoryPushWindows } from '../../adapters/memory/push-windows.ts';
import { registryLiveDevices } from '../../adapters/memory/live-devices.ts';
import { directoryProjector } from '../../projections/directory/projector.ts';
import { inboxProjector } from '../../projections/inbox/projector.ts';
import { createPushCollapser } from '../../features/push/collapse.ts';
import { pushReactor } from '../../features/push/reactor.ts';
import { sqliteReadModels } from '../support/read-model-backends.ts';
import { tempDir } from '../support/natter.ts';
import { created, deleted, edited, muted, reacted, read, recorder, sent, T0, uid } from '../support/events.ts';

const COLLAPSE_MS = 400;

type Pushed = { to: string; title: string; body: string; badge: number; unread: number; seq: number; when: 'at once' | 'after the window' | 'in between' };
type Step = { events: NatterEvent[] } | { online: string };

/**
 * Given a conversation (in real SQLite directory and inbox read models) and users with registered
 * devices, when messages and reads arrive (applied to the read models, then to the push reactor,
 * whose queue is the collapser, as the embedded process wires them), then these notifications were
 * sent, to a recording `send`, with memory windows of COLLAPSE_MS. Each `then` waits for the windows
 * to close; `when` records a push made within half a window of the first step as 'at once'.
 */
const collapseSpec = () => {
  let models: { models: ReadModels; close(): Promise<void> };
  let db: SqliteDatabase;
  let registry: PushRegistry;
  before(async () => {
    models = await sqliteReadModels();
    db = openDatabase(join(tempDir('natter-push-spec-'), 'devices.db'), 'FULL');
    registry = createSqlitePushRegistry(db);
  });
  after(async () => {
    await models.close();
    db.close();
  });

  return (given: NatterEvent[], options: { registered: string[]; devices?: string[] }) => {
    const steps: Step[] = [];
    const chain = {
      /** Events of one batch; the next step waits until the collapser has done what this one started. */
      when: (events: NatterEvent[]) => {
        steps.push({ events });
        return chain;
      },
      /** The user's device connects. */
      whenOnline: (user: string) => {
        steps.push({ online: user });
        return chain;
      },
      then: async (check: (pushed: Pushed[]) => void) => {
        const { directory, inbox } = models.models;
        const sockets = new Map<string, { open: boolean }[]>();
        const live = registryLiveDevices({ of: (user) => sockets.get(user) ?? [] });
        for (const user of options.registered) {
          for (const device of options.devices ?? ['phone']) {
            await registry.register({ user_id: user, device_id: device, platform: 'fcm', token: `${user}-${device}`, created_at: T0 });
          }
        }
        let start = 0;
        const pushed: Pushed[] = [];
        const warnings: string[] = [];
        const send = (target: { user_id: string; device_id: string }, n: PushNotification) => {
          const ms = Date.now() - start;
          const when = ms < COLLAPSE_MS / 2 ? 'at once' : ms >= COLLAPSE_MS * 0.9 ? 'after the window' : 'in between';
          pushed.push({ to: `${target.user_id}/${target.device_id}`, title: n.title, body: n.body, badge: n.badge, unread: n.unread, seq: n.seq, when });
        };
        const collapser = createPushCollapser({
          directory,
          inbox,
          live,
          registry,
          windows: createMemoryPushWindows(),
          send,
          collapseMs: COLLAPSE_MS,
          includeContent: false,
          maxAgeMs: 60_000,
          log: {
            warn: (obj, msg) => {
              warnings.push(`${msg}: ${String((obj as { err?: unknown }).err ?? JSON.stringify(obj))}`);
            },
          },
        });
        const queue: PushQueue = {
          offer: async (requests) => {
            for (const { user_id, ...message } of requests) collapser.offer(user_id, message);
          },
          read: collapser.read,
          forget: collapser.forget,
        };
        const reactor = pushReactor({ directory, inbox, live, registry, queue, includeContent: false, maxAgeMs: 60_000, clock: () => T0 + 1_000 });
        const apply = async (batch: Recorded[]) => {
          await directoryProjector(directory).handle(batch);
          await inboxProjector(inbox).handle(batch);
          await reactor.react(batch);
        };
        try {
          const record = recorder();
          const past = record(given);
          await directoryProjector(directory).handle(past);
          await inboxProjector(inbox).handle(past);
          start = Date.now();
          for (const step of steps) {
            if ('online' in step) sockets.set(step.online, [{ open: true }]);
            else await apply(record(step.events));
            await sleep(10);
          }
          await sleep(COLLAPSE_MS * 2.5);
          assert.deepEqual(warnings, [], 'no push failed');
          check(pushed);
        } finally {
          collapser.stop();
        }
      },
    };
    return chain;
  };
};

describe('push collapse specs (SQLite read models, memory windows)', () => {
  const given = collapseSpec();
  const people = () => ({ dm: uid('dm'), g: uid('g'), a: uid('alice'), b: uid('bob'), c: uid('carol') });

  it('given bob offline with a registered phone, when alice sends him a message, then he is pushed at once', async () => {
    const { dm, a, b } = people();
    await given([created(dm, [a, b], { kind: 'direct' })], { registered: [b] })
      .when([sent(dm, 1, a)])
      .then((pushed) => {
        assert.deepEqual(pushed, [{ to: `${b}/phone`, title: a, body: `${a} sent you a message`, badge: 1, unread: 1, seq: 1, when: 'at once' }]);
      });
  });

  it("given bob offline, when alice sends once and then three more inside the window, then the three collapse into one push at the window's end", async () => {
    const { dm, a, b } = people();
    await given([created(dm, [a, b], { kind: 'direct' })], { registered: [b] })
      .when([sent(dm, 1, a)])
      .when([sent(dm, 2, a), sent(dm, 3, a)])
      .when([sent(dm, 4, a)])
      .then((pushed) => {
        assert.deepEqual(pushed, [
          { to: `${b}/phone`, title: a, body: `${a} sent you a message`, badge: 1, unread: 1, seq: 1, when: 'at once' },
          { to: `${b}/phone`, title: a, body: `${a} sent you 4 messages`, badge: 4, unread: 4, seq: 4, when: 'after the window' },
        ]);
      });
  });

  it('given a group, when messages from two senders arrive inside the window, then the trailing push counts them without naming a sender', async () => {
    const { g, a, b, c } = people();
    await given([created(g, [a, b, c])], { registered: [b] })
      .when([sent(g, 1, a)])
      .when([sent(g, 2, c), sent(g, 3, a)])
      .then((pushed) => {
        assert.deepEqual(pushed, [
          { to: `${b}/phone`, title: 'Team', body: `${a} sent a message`, badge: 1, unread: 1, seq: 1, when: 'at once' },
          { to: `${b}/phone`, title: 'Team', body: '3 new messages', badge: 3, unread: 3, seq: 3, when: 'after the window' },
        ]);
      });
  });

  it('given a push and two more messages waiting for the window, when bob reads them on another device, then no trailing push is sent', async () => {
    const { dm, a, b } = people();
    await given([created(dm, [a, b], { kind: 'direct' })], { registered: [b] })
      .when([sent(dm, 1, a)])
      .when([sent(dm, 2, a), sent(dm, 3, a)])
      .when([read(dm, b, 3)])
      .then((pushed) => {
        assert.deepEqual(
          pushed.map((p) => [p.seq, p.when]),
          [[1, 'at once']],
        );
      });
  });

  it('given two messages waiting for the window, when bob reads only the first of them, then the trailing push covers the rest', async () => {
    const { dm, a, b } = people();
    await given([created(dm, [a, b], { kind: 'direct' })], { registered: [b] })
      .when([sent(dm, 1, a)])
      .when([sent(dm, 2, a), sent(dm, 3, a)])
      .when([read(dm, b, 2)])
      .then((pushed) => {
        assert.deepEqual(pushed.slice(1), [
          { to: `${b}/phone`, title: a, body: `${a} sent you a message`, badge: 1, unread: 1, seq: 3, when: 'after the window' },
        ]);
      });
  });

  it('given a group, when alice mentions bob, then his push says so, and a collapsed push says it mentions him', async () => {
    const { g, a, b, c } = people();
    await given([created(g, [a, b, c])], { registered: [b] })
      .when([sent(g, 1, a, { mentions: [b] })])
      .when([sent(g, 2, a), sent(g, 3, a, { mentions: [b, c] })])
      .then((pushed) => {
        assert.deepEqual(pushed, [
          { to: `${b}/phone`, title: 'Team', body: `${a} mentioned you`, badge: 1, unread: 1, seq: 1, when: 'at once' },
          { to: `${b}/phone`, title: 'Team', body: `${a} sent 3 messages, mentioning you`, badge: 3, unread: 3, seq: 3, when: 'after the window' },
        ]);
      });
  });

  it('given a push, when the message is edited, reacted to and deleted, then none of it pushes again', async () => {
    const { dm, a, b } = people();
    await given([created(dm, [a, b], { kind: 'direct' })], { registered: [b] })
      .when([sent(dm, 1, a)])
      .when([edited(dm, 1, a, 'fixed'), reacted(dm, 1, a, '👍')])
      .when([deleted(dm, 1, a)])
      .then((pushed) => {
        assert.deepEqual(
          pushed.map((p) => [p.seq, p.when]),
          [[1, 'at once']],
        );
      });
  });

  it('given bob muted the group, when alice sends, then he is not pushed, unless the message mentions him', async () => {
    const { g, a, b, c } = people();
    await given([created(g, [a, b, c]), muted(b, g)], { registered: [b, c] })
      .when([sent(g, 1, a)])
      .when([sent(g, 2, a, { mentions: [b] })])
      .then((pushed) => {
        // What reaches bob is the mention alone, though the muted message is unread too.
        assert.deepEqual(
          pushed.filter((p) => p.to.startsWith(b)).map((p) => [p.seq, p.body, p.unread, p.when]),
          [[2, `${a} mentioned you`, 2, 'at once']],
        );
        assert.deepEqual(
          pushed.filter((p) => p.to.startsWith(c)).map((p) => p.seq),
          [1, 2],
          'carol, who did not mute, gets both',
        );
      });
  });

  it('given bob live, when alice sends, then nothing is pushed', async () => {
    const { dm, a, b } = people();
    await given([created(dm, [a, b], { kind: 'direct' })], { registered: [b] })
      .whenOnline(b)
      .when([sent(dm, 1, a)])
      .when([sent(dm, 2, a)])
      .then((pushed) => {
        assert.deepEqual(pushed, []);
      });
  });

  it('given a push and a message waiting for the window, when bob comes online, then no trailing push is sent', async () => {
    const { dm, a, b } = people();
    await given([created(dm, [a, b], { kind: 'direct' })], { registered: [b] })
      .when([sent(dm, 1, a)])
      .when([sent(dm, 2, a)])
      .whenOnline(b)
      .then((pushed) => {
        assert.deepEqual(
          pushed.map((p) => [p.seq, p.when]),
          [[1, 'at once']],
        );
      });
  });

  it('given bob offline with no registered device, when alice sends, then nothing is pushed', async () => {
    const { dm, a, b } = people();
    await given([created(dm, [a, b], { kind: 'direct' })], { registered: [] })
      .when([sent(dm, 1, a)])
      .then((pushed) => {
        assert.deepEqual(pushed, []);
      });
  });

  it('given bob with two registered devices, when alice sends, then each device gets the push', async () => {
    const { dm, a, b } = people();
    await given([created(dm, [a, b], { kind: 'direct' })], { registered: [b], devices: ['phone', 'tablet'] })
      .when([sent(dm, 1, a)])
      .then((pushed) => {
        assert.deepEqual(
          pushed.map((p) => [p.to, p.seq, p.when]),
          [
            [`${b}/phone`, 1, 'at once'],
            [`${b}/tablet`, 1, 'at once'],
          ],
        );
      });
  });

  it('given two conversations, when each gets a message inside the same window, then each pushes at once (a window is per conversation), with the badge of both', async () => {
    const { dm, a, b, c } = people();
    const other = uid('dm');
    await given([created(dm, [a, b], { kind: 'direct' }), created(other, [c, b], { kind: 'direct' })], { registered: [b] })
      .when([sent(dm, 1, a)])
      .when([sent(other, 1, c)])
      .then((pushed) => {
        assert.deepEqual(pushed, [
          { to: `${b}/phone`, title: a, body: `${a} sent you a message`, badge: 1, unread: 1, seq: 1, when: 'at once' },
          { to: `${b}/phone`, title: c, body: `${c} sent you a message`, badge: 2, unread: 1, seq: 1, when: 'at once' },
        ]);
      });
  });
});
