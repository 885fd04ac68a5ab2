import { h } from '../dom.ts';

/** User id and device id for a dev token; the device id defaults to one per browser. */
export const signInForm = (onSubmit: (userId: string, deviceId: string) => Promise<void>) => {
  const userId = h('input', {
    name: 'user',
    placeholder: 'user id (e.g. alice)',
    required: true,
    pattern: '[A-Za-z0-9][A-Za-z0-9._@:\\-]*',
    'aria-label': 'user id',
  });
  const deviceId = h('input', { name: 'device', value: `web-${Math.random().toString(36).slice(2, 8)}`, required: true, 'aria-label': 'device id' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    {
      class: 'sign-in',
      onsubmit: ((event: Event) => {
        event.preventDefault();
        error.textContent = '';
        onSubmit(userId.value.trim(), deviceId.value.trim()).catch((e: Error) => {
          error.textContent = e.message;
        });
      }) as EventListener,
    },
    h('h1', {}, 'Natter'),
    h('label', {}, 'User id', userId),
    h('label', {}, 'Device id', deviceId),
    h('button', { type: 'submit' }, 'Sign in with a dev token'),
    error,
  );
  return form;
};
