import type { Conversation, NatterApi } from '@natter/client';
import type { ChatState } from './state.ts';
import type { HeaderActions } from './views/conversation-header.ts';
import type { MembersActions } from './views/members.ts';

export type GovernanceDeps = {
  state: ChatState;
  api: NatterApi;
  render(): void;
  /** Takes in a conversation as the server answered it (members, admins, title). */
  remember(conversation: Conversation): void;
  /** A refusal (`forbidden`, `last_admin`…): the page says what and why. */
  report(what: string, error: unknown): void;
};

/**
 * What a member does to a conversation rather than to a message: mute it, block the peer of a direct
 * chat, and in a group (as an admin) rename it, make or unmake admins and remove members. The server
 * decides who may; a refusal shows at the top. Every member's devices hear of group changes through
 * `conversation_updated`; this page takes the answer in at once, not waiting for that frame.
 */
export const governanceControls = ({ state, api, render, remember, report }: GovernanceDeps) => {
  const openGroup = () => {
    const conversation = state.openId ? state.conversations.get(state.openId) : undefined;
    return conversation?.kind === 'group' ? conversation : undefined;
  };
  const refused = (what: string) => (error: unknown) => report(what, error);
  const refetch = (id: string) => api.conversation(id).then(remember).then(render);

  const header: Omit<HeaderActions, 'back'> = {
    toggleMembers: () => {
      state.membersOpen = !state.membersOpen;
      if (state.membersOpen) state.thread = null;
      render();
    },
    toggleMuteMenu: () => {
      state.muteMenu = !state.muteMenu;
      render();
    },
    mute: (ms) => {
      const conversation = state.openId ? state.conversations.get(state.openId) : undefined;
      state.muteMenu = false;
      if (!conversation) return;
      const until = ms === null ? null : Date.now() + ms;
      void api.mute(conversation.id, until).then(() => {
        conversation.muted = true;
        conversation.mutedUntil = until;
        render();
      }, refused('not muted'));
    },
    unmute: () => {
      const conversation = state.openId ? state.conversations.get(state.openId) : undefined;
      if (!conversation) return;
      void api.unmute(conversation.id).then(() => {
        conversation.muted = false;
        render();
      }, refused('not unmuted'));
    },
    block: (userId) =>
      void api.block(userId).then(() => {
        state.blocked.add(userId);
        render();
      }, refused('not blocked')),
    unblock: (userId) =>
      void api.unblock(userId).then(() => {
        state.blocked.delete(userId);
        render();
      }, refused('not unblocked')),
  };

  const members: MembersActions = {
    rename: (title) => {
      const group = openGroup();
      if (group && title !== group.title)
        void api.renameConversation(group.id, title).then((c) => {
          remember(c);
          render();
        }, refused('not renamed'));
    },
    setAdmin: (userId, admin) => {
      const group = openGroup();
      if (!group) return;
      void (admin ? api.addAdmin(group.id, userId) : api.removeAdmin(group.id, userId)).then(() => refetch(group.id)).catch(refused('not changed'));
    },
    remove: (userId) => {
      const group = openGroup();
      const leaving = userId === state.me;
      if (!group || !confirm(leaving ? `Leave ${group.title ?? 'the group'}?` : `Remove ${userId} from ${group.title ?? 'the group'}?`)) return;
      void api.removeMember(group.id, userId).then(
        (c) => {
          if (!leaving) {
            remember(c);
            render();
            return;
          }
          state.conversations.delete(group.id);
          state.openId = null;
          state.membersOpen = false;
          render();
        },
        refused(leaving ? 'not left' : 'not removed'),
      );
    },
    closeMembers: () => {
      state.membersOpen = false;
      render();
    },
  };

  return { header, members };
};
