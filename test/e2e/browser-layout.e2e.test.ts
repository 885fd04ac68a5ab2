import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Locator, Page } from 'playwright-core';
import { NatterApi } from '../../clients/sdk/index.ts';
import { launchChromium, prepareBrowserTests, shot } from '../support/browser.ts';
import { eventually } from '../support/eventually.ts';
import { useNatter } from '../support/fixture.ts';

type Box = { x: number; y: number; width: number; height: number };
const right = (box: Box) => box.x + box.width;
const bottom = (box: Box) => box.y + box.height;
/** Layout measures in fractional pixels; half a pixel is rounding, not overflow. */
const EPSILON = 0.5;

/**
 * The boxes of elements by CSS selector, measured in one go in the page: a render between two
 * measures (a receipt or presence arriving rebuilds the lists) cannot mix two layouts.
 */
const layout = async <K extends string>(page: Page, selectors: Record<K, string>): Promise<Record<K, Box>> => {
  const boxes = await page.locator('html').evaluate(
    (html, wanted) =>
      Object.fromEntries(
        Object.entries(wanted).map(([name, selector]) => {
          const rect = html.ownerDocument.querySelector(selector as string)?.getBoundingClientRect();
          return [name, rect ? { x: rect.x, y: rect.y, width: rect.width, height: rect.height } : null];
        }),
      ),
    selectors as Record<string, string>,
  );
  for (const [name, box] of Object.entries(boxes)) assert.ok(box, `${name} (${selectors[name as K]}) is laid out`);
  return boxes as Record<K, Box>;
};
/** A message of the open conversation by its seq, which stays put across renders. */
const seqOf = async (item: Locator) => {
  await item.and(item.page().locator('[data-seq]')).waitFor();
  return `.pane .messages li.message[data-seq="${await item.getAttribute('data-seq')}"]`;
};
const assertInside = (inner: Box, outer: Box, what: string) => {
  assert.ok(inner.width > 0 && inner.height > 0, `${what} has a size: ${JSON.stringify(inner)}`);
  assert.ok(
    inner.x >= outer.x - EPSILON && right(inner) <= right(outer) + EPSILON,
    `${what} lies within ${JSON.stringify(outer)} horizontally: ${JSON.stringify(inner)}`,
  );
  assert.ok(
    inner.y >= outer.y - EPSILON && bottom(inner) <= bottom(outer) + EPSILON,
    `${what} lies within ${JSON.stringify(outer)} vertically: ${JSON.stringify(inner)}`,
  );
};
/** The page does not scroll sideways. */
const horizontalOverflow = (page: Page) =>
  page.locator('html').evaluate((html) => {
    const root = html.ownerDocument.scrollingElement!;
    return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth };
  });

// Realistic content: the screenshots in docs/screenshots come from this conversation.
const CHECKSUM = 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const LINK =
  'https://docs.example.com/projects/natter/releases/2026-12/release-checklist-with-rollback-plan-and-owners.html?section=database-migrations&highlight=true';
const LONG_PREVIEW = 'Could you look at the release checklist before tomorrow morning? The rollback plan still needs an owner.';

describe("the web client's layout at desktop and phone widths, multi-line messages and a long inbox, in Chromium", () => {
  let browser: Browser;

  before(prepareBrowserTests);
  after(async () => {
    await browser?.close();
  });
  const { server, connect } = useNatter();
  before(async () => {
    browser = await launchChromium();
  });

  const signedIn = async (user: string, viewport: { width: number; height: number }) => {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(server.url);
    await page.fill('input[name=user]', user);
    await page.fill('input[name=device]', `${viewport.width}px`);
    await page.click('form.sign-in button');
    await page.waitForSelector('.connection[data-state=online]');
    return page;
  };
  const conversation = (page: Page, name: string) => page.locator(`li.conversation[data-name="${name}"]`);
  const bubble = (page: Page, text: string) => page.locator('.pane .messages li.message', { has: page.locator('.content', { hasText: text }) });

  /** Erin writes to dana: a checksum (one long word), a long link, and a long question, unread by dana. Ids by name. */
  const conversations = new Map<string, string>();
  before(async () => {
    const erin = new NatterApi(server.url, await server.token('erin'));
    const frank = new NatterApi(server.url, await server.token('frank'));
    const dana = new NatterApi(server.url, await server.token('dana'));
    const design = await frank.createConversation({ type: 'group', title: 'Design review', member_ids: ['dana', 'erin'] });
    await frank.sendMessage(design.conversation_id, 'd1', 'New icons are in the shared folder');
    const lunch = await frank.createConversation({ type: 'direct', peer_id: 'dana' });
    await frank.sendMessage(lunch.conversation_id, 'l1', 'Lunch at 12:30?');
    await dana.sendMessage(lunch.conversation_id, 'l2', 'Sure, the usual place');
    const direct = await erin.createConversation({ type: 'direct', peer_id: 'dana' });
    conversations.set('erin', direct.conversation_id);
    await erin.sendMessage(direct.conversation_id, 'e1', 'Morning! The build for 4.2 is green.');
    await dana.sendMessage(direct.conversation_id, 'e2', 'Great. Which artifact should I deploy to staging?');
    await erin.sendMessage(direct.conversation_id, 'e3', `This one, the checksum is ${CHECKSUM}`);
    await erin.sendMessage(direct.conversation_id, 'e4', `And the checklist: ${LINK}`);
    await erin.sendMessage(direct.conversation_id, 'e5', LONG_PREVIEW);
    await eventually(
      () => dana.inbox(),
      (page) => page.items.find((i) => i.conversation_id === direct.conversation_id)?.unread_count === 3,
    );
    // Online, as a peer in a screenshot would be.
    await connect('erin');
  });

  it("keeps a long preview's unread badge and time inside the sidebar, and cuts the preview with an ellipsis", async () => {
    const page = await signedIn('dana', { width: 1280, height: 800 });
    const item = conversation(page, 'erin');
    await item.locator('.badge.unread:text-is("3")').waitFor();
    const row = 'li.conversation[data-name="erin"]';
    const boxes = await layout(page, { sidebar: 'aside', row, badge: `${row} .badge.unread`, time: `${row} time`, preview: `${row} .preview` });
    assertInside(boxes.row, boxes.sidebar, 'the conversation row');
    assertInside(boxes.badge, boxes.row, 'the unread badge');
    assertInside(boxes.time, boxes.row, 'the time');
    assert.ok(right(boxes.preview) <= Math.min(boxes.badge.x, boxes.time.x) + EPSILON, 'the preview ends before the badge and the time begin');
    const preview = item.locator('.preview');
    // The inbox keeps the first 100 characters.
    assert.equal(await preview.textContent(), LONG_PREVIEW.slice(0, 100));
    const cut = await preview.evaluate((el) => ({
      overflowing: el.scrollWidth > el.clientWidth,
      ellipsis: el.ownerDocument.defaultView!.getComputedStyle(el).textOverflow,
    }));
    assert.deepEqual(cut, { overflowing: true, ellipsis: 'ellipsis' }, 'the preview is cut with an ellipsis');
    await page.context().close();
  });

  it('wraps a long word and a long link inside their bubbles', async () => {
    const page = await signedIn('dana', { width: 1280, height: 800 });
    await conversation(page, 'erin').click();
    for (const text of [CHECKSUM, LINK]) {
      const item = await seqOf(bubble(page, text));
      const boxes = await layout(page, { list: '.pane .messages', item, content: `${item} .content` });
      assertInside(boxes.item, boxes.list, `the bubble of ${text.slice(0, 20)}…`);
      assertInside(boxes.content, boxes.item, `the text of ${text.slice(0, 20)}…`);
      assert.ok(
        await bubble(page, text)
          .locator('.content')
          .evaluate((el) => el.scrollWidth <= el.clientWidth),
        'the text does not overflow its box',
      );
    }
    const overflow = await horizontalOverflow(page);
    assert.ok(overflow.scrollWidth <= overflow.clientWidth, `no sideways scroll: ${JSON.stringify(overflow)}`);
    await page.context().close();
  });

  it('writes a multi-line message: Shift+Enter adds a line, Enter sends, and the bubble keeps the lines', async () => {
    const page = await signedIn('dana', { width: 1280, height: 800 });
    await conversation(page, 'erin').click();
    const composer = page.locator('.composer textarea[name=text]');
    await composer.click();
    await composer.pressSequentially('Deploying now. Steps:');
    await composer.press('Shift+Enter');
    await composer.pressSequentially('1. migrate the database');
    await composer.press('Shift+Enter');
    await composer.pressSequentially('2. switch traffic');
    assert.equal(await composer.inputValue(), 'Deploying now. Steps:\n1. migrate the database\n2. switch traffic', 'Shift+Enter did not send');
    assert.equal(await page.locator('.pane .messages li.message.pending').count(), 0);
    await composer.press('Enter');
    const text = 'Deploying now. Steps:\n1. migrate the database\n2. switch traffic';
    // The acked message, not its pending copy (which has no seq yet).
    const sent = page.locator(await seqOf(bubble(page, 'Deploying now.')));
    assert.equal(await sent.locator('.content').textContent(), text);
    assert.equal(await composer.inputValue(), '', 'the composer is empty after sending');
    // Lines as drawn: the distinct tops of the text's boxes.
    const lines = await sent.locator('.content').evaluate((el) => {
      const range = el.ownerDocument.createRange();
      range.selectNodeContents(el);
      return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
    });
    assert.equal(lines, 3, 'the bubble shows three lines, not one');
    const erin = new NatterApi(server.url, await server.token('erin'));
    const history = await eventually(
      () => erin.messages(conversations.get('erin')!, { limit: 1 }),
      (p) => p.items[0]?.content === text,
    );
    assert.equal(history.items[0]?.content, text, 'the newlines reach the server');
    await shot(page, 'web-1280');
    await page.context().close();
  });

  it('fits a 390 px wide screen: the list, then the conversation with its Send button in view, and back', async () => {
    const viewport = { width: 390, height: 844 };
    const page = await signedIn('dana', viewport);
    const screen = { x: 0, y: 0, ...viewport };
    const item = conversation(page, 'erin');
    await item.waitFor();
    assertInside((await layout(page, { row: 'li.conversation[data-name="erin"]' })).row, screen, 'the conversation row');
    assert.equal(await page.locator('.pane').isVisible(), false, 'the list has the screen to itself');
    let overflow = await horizontalOverflow(page);
    assert.ok(overflow.scrollWidth <= overflow.clientWidth, `no sideways scroll on the list: ${JSON.stringify(overflow)}`);

    await item.click();
    await bubble(page, CHECKSUM).waitFor();
    assert.equal(await page.locator('aside').isVisible(), false, 'the conversation has the screen to itself');
    const boxes = await layout(page, { send: '.composer button[type=submit]', composer: '.composer textarea', link: await seqOf(bubble(page, LINK)) });
    assertInside(boxes.send, screen, 'the Send button');
    assertInside(boxes.composer, screen, 'the composer');
    // Across: it may be scrolled up or down, but never sideways out of the screen.
    assertInside(boxes.link, { ...screen, y: boxes.link.y, height: boxes.link.height }, "the link's bubble");
    overflow = await horizontalOverflow(page);
    assert.ok(overflow.scrollWidth <= overflow.clientWidth, `no sideways scroll in the conversation: ${JSON.stringify(overflow)}`);
    await page.locator('.composer textarea').fill('On my way');
    await page.locator('.composer button[type=submit]').click();
    await bubble(page, 'On my way').locator('[data-tick]:not([data-tick=pending])').waitFor();
    await shot(page, 'web-390');

    await page.click('.pane [data-action=back]');
    await item.waitFor();
    assert.equal(await page.locator('.pane').isVisible(), false, 'back to the list');
    assert.equal(await page.locator('li.conversation.open').count(), 0, 'nothing is open');
    overflow = await horizontalOverflow(page);
    assert.ok(overflow.scrollWidth <= overflow.clientWidth, `no sideways scroll after going back: ${JSON.stringify(overflow)}`);
    await page.context().close();
  });

  it('pages in conversations past the first 200 as the list scrolls', async () => {
    const total = 230;
    const api = new NatterApi(server.url, await server.token('gina'));
    // Ten at a time: fast, and each batch is older than the next, so the first ones are the inbox's last.
    for (let start = 1; start <= total; start += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, total - start + 1) }, (_, i) =>
          api.createConversation({ type: 'group', title: `room ${String(start + i).padStart(3, '0')}`, member_ids: ['hank'] }),
        ),
      );
    }
    const everything = async () => {
      let count = 0;
      let cursor: string | null = null;
      do {
        const page = await api.inbox({ limit: 200, ...(cursor ? { cursor } : {}) });
        count += page.items.length;
        cursor = page.next_cursor;
      } while (cursor);
      return count;
    };
    assert.equal(await eventually(everything, (n) => n === total, { timeoutMs: 20_000 }), total);

    const page = await signedIn('gina', { width: 1280, height: 800 });
    const rows = page.locator('li.conversation');
    await rows.first().waitFor();
    const first = await rows.count();
    assert.ok(first < total, `the first page holds part of the inbox: ${first}`);
    assert.equal(await conversation(page, 'room 001').count(), 0, 'the oldest is not on the first page');
    // Scrolling to the end of the list asks for the next page, until there is none.
    for (let i = 0; i < 10 && (await rows.count()) < total; i++) {
      const before = await rows.count();
      await page.locator('.conversations').evaluate((el) => {
        el.scrollTop = el.scrollHeight;
      });
      await rows.nth(before).waitFor();
    }
    await conversation(page, 'room 001').waitFor();
    assert.equal(await rows.count(), total);
    const ids = await rows.evaluateAll((items) => items.map((el) => el.getAttribute('data-id')));
    assert.equal(new Set(ids).size, total, 'no conversation twice');
    assert.equal(await page.locator('.conversations .more').count(), 0, 'nothing more to load');
    await page.context().close();
  });
});
