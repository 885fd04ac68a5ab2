import { replaceChildren } from './dom.ts';
import { loadSession, signIn } from './session.ts';
import { startChat } from './chat.ts';
import { signInForm } from './views/sign-in.ts';

const root = document.getElementById('app')!;

/** Signed in: the chat; otherwise the dev-token form, which comes back here once it has a token. */
const show = () => {
  const session = loadSession();
  if (session) {
    startChat(root, session, show);
    return;
  }
  replaceChildren(
    root,
    signInForm(async (userId, deviceId) => {
      await signIn(userId, deviceId);
      show();
    }),
  );
};

show();
