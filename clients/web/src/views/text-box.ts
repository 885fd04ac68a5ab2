import { h } from '../dom.ts';

/** Lines a text box grows to before it scrolls. */
const MAX_LINES = 6;

/**
 * A composer's text box: Enter sends (submits its form), Shift+Enter starts a new line, and the box
 * grows with its text up to a few lines. While an input method composes (Japanese, Chinese…), Enter
 * belongs to it and sends nothing.
 */
export const textBox = (props: { name: string; placeholder: string; label: string }) => {
  const box = h('textarea', { name: props.name, placeholder: props.placeholder, 'aria-label': props.label, rows: 1, autocomplete: 'off' });
  /** Sizes the box to its text; call it after setting the value from code, which fires no input event. */
  const fit = () => {
    box.style.height = 'auto';
    const style = getComputedStyle(box);
    const chrome = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom) + parseFloat(style.borderTopWidth) + parseFloat(style.borderBottomWidth);
    const most = parseFloat(style.lineHeight) * MAX_LINES + chrome;
    box.style.height = `${Math.min(box.scrollHeight + parseFloat(style.borderTopWidth) + parseFloat(style.borderBottomWidth), most)}px`;
  };
  box.addEventListener('input', fit);
  box.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    box.form?.requestSubmit();
  });
  /** Sets the text (empty after a send, the message's text for an edit) and resizes. */
  const set = (text: string) => {
    box.value = text;
    fit();
  };
  return { box, set };
};
