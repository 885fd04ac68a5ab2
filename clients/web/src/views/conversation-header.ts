import { h, replaceChildren } from '../dom.ts';
import { lastSeen, moment } from '../format.ts';
import type { ChatState, ConversationSummary } from '../state.ts';

export type HeaderActions = {
  /** Back to the conversation list (narrow screens show one or the other). */
  back(): void;
  toggleMembers(): void;
  toggleMuteMenu(): void;
  /** Mutes for `ms` from now, or until unmuted when null. */
  mute(ms: number | null): void;
  unmute(): void;
  block(userId: string): void;
  unblock(userId: string): void;
};

const HOUR = 3_600_000;
/** The mute menu's choices; null mutes until unmuted. */
const MUTE_CHOICES: Array<{ label: string; ms: number | null }> = [
  { label: 'For 1 hour', ms: HOUR },
  { label: 'For 8 hours', ms: 8 * HOUR },
  { label: 'Until I unmute', ms: null },
];

export const mutedTitle = (until: number | null) => (until === null ? 'muted until you unmute' : `muted until ${moment(until)}`);

/** A back button (shown on narrow screens), the open conversation's name and status, its actions (members, mute, block), and a note when I blocked the peer. */
export const renderHeader = (header: HTMLElement, conversation: ConversationSummary, state: ChatState, actions: HeaderActions) => {
  const peer = state.peerOf(conversation);
  const muted = state.isMuted(conversation);
  const blocked = peer !== undefined && state.blocked.has(peer);
  const button = (label: string, action: string, run: () => void, title?: string) =>
    h('button', { type: 'button', class: 'action', 'data-action': action, title, onclick: run as EventListener }, label);
  replaceChildren(
    header,
    h(
      'button',
      {
        type: 'button',
        class: 'action back',
        'data-action': 'back',
        title: 'back to the conversations',
        'aria-label': 'back to the conversations',
        onclick: (() => actions.back()) as EventListener,
      },
      '←',
    ),
    h(
      'div',
      { class: 'heading' },
      h('h2', {}, state.nameOf(conversation), muted ? h('span', { class: 'muted-icon', title: mutedTitle(conversation.mutedUntil) }, ' 🔕') : null),
      h('div', { class: 'subtitle' }, peer ? lastSeen(state.presence.get(peer)) : (conversation.members ?? []).join(', ')),
    ),
    h(
      'div',
      { class: 'header-actions' },
      conversation.kind === 'group' ? button('Members', 'members', actions.toggleMembers) : null,
      muted ? button('Unmute', 'unmute', actions.unmute, mutedTitle(conversation.mutedUntil)) : button('Mute', 'mute', actions.toggleMuteMenu),
      peer ? (blocked ? button('Unblock', 'unblock', () => actions.unblock(peer)) : button('Block', 'block', () => actions.block(peer))) : null,
      state.muteMenu && !muted
        ? h(
            'div',
            { class: 'mute-menu', role: 'menu' },
            ...MUTE_CHOICES.map((choice) =>
              h(
                'button',
                { type: 'button', role: 'menuitem', 'data-mute': choice.ms ?? 'always', onclick: (() => actions.mute(choice.ms)) as EventListener },
                choice.label,
              ),
            ),
          )
        : null,
    ),
    blocked ? h('div', { class: 'blocked-note', role: 'note' }, `You blocked ${peer}: they cannot message you. Unblock to hear from them again.`) : null,
  );
};
