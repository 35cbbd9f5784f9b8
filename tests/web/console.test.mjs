// End-to-end tests of the web console in headless Chromium, one user's path through it in order:
// setup and sign-in, a knowledge base, uploads indexed to "Available", chunks, retrieval testing,
// a small website crawled into documents, an API key used against /v1, and a chat app that streams an answer with a citation.
// Run by scripts/web_test.sh, which starts `ragd serve` and sets RAGD_URL.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

const URL_BASE = process.env.RAGD_URL || 'http://127.0.0.1:5001';
const SHOTS = process.env.RAGD_SCREENSHOTS || path.resolve('artifacts/screenshots');
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const INDEXING_TIMEOUT = 180_000;

const ADMIN = { email: 'admin@example.com', name: 'Ada Admin', password: 'correct horse 42' };
const DATASET = 'Field notes';
const PDF = 'saltmarsh-notes.pdf';
const MARKDOWN = 'greenhouse-guide.md';

let browser;
let context;
let page;
const state = {};
const consoleErrors = [];

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** The text of the error tied to a control by aria-describedby: "next to the field". */
async function fieldError(locator) {
  const ids = (await locator.getAttribute('aria-describedby')) || '';
  const texts = [];
  for (const id of ids.split(/\s+/).filter(Boolean)) {
    const el = page.locator(`[id="${id}"]`);
    if (await el.isVisible()) texts.push(await el.textContent());
  }
  return texts.join(' ');
}

describe('web console', { concurrency: false }, () => {
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (err) => consoleErrors.push(String(err)));
  });

  after(async () => {
    if (browser) await browser.close();
  });

  test('the console is served by ragd: index, assets with types and ETags, page routes, APIs not shadowed', async () => {
    const index = await fetch(`${URL_BASE}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type'), /^text\/html/);
    const js = await fetch(`${URL_BASE}/assets/app.js`);
    assert.match(js.headers.get('content-type'), /^text\/javascript/);
    const etag = js.headers.get('etag');
    assert.ok(etag, 'assets carry an ETag');
    const again = await fetch(`${URL_BASE}/assets/app.js`, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    const deep = await fetch(`${URL_BASE}/datasets/x/documents`, { headers: { Accept: 'text/html' } });
    assert.equal(deep.status, 200);
    assert.match(await deep.text(), /<script type="module" src="\/assets\/app.js">/);
    const api = await fetch(`${URL_BASE}/v1/nope`, { headers: { Accept: 'text/html' } });
    assert.equal(api.status, 404);
    assert.equal((await api.json()).code, 'not_found');
  });

  test('setup and login', async () => {
    await page.goto(`${URL_BASE}/`);
    await page.waitForURL('**/install');
    await page.getByRole('heading', { name: 'Set up ragd' }).waitFor();
    // A weak password is refused next to its field, before anything is sent.
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Your name').fill(ADMIN.name);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Set up' }).click();
    assert.match(await fieldError(page.getByLabel('Password')), /at least 8 characters/i);
    await page.getByLabel('Password').fill(ADMIN.password);
    await shot('01-install');
    await page.getByRole('button', { name: 'Set up' }).click();
    await page.waitForURL('**/datasets');
    await page.getByRole('heading', { name: 'Knowledge', level: 1 }).waitFor();

    // Sign out, then a wrong password, then the right one with the keyboard only.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/signin');
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill('wrong password 1');
    await page.getByLabel('Password').press('Enter');
    await page.getByText('The email or password is not right.').waitFor();
    assert.match(await fieldError(page.getByLabel('Password')), /not right/);
    await shot('02-signin-error');
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByLabel('Password').press('Enter');
    await page.waitForURL('**/datasets');
    await page.getByRole('heading', { name: 'Knowledge', level: 1 }).waitFor();
    // A signed-in reload of a deep link stays there (the server answers index.html).
    await page.goto(`${URL_BASE}/settings/members`);
    await page.getByRole('cell', { name: ADMIN.email }).waitFor();
  });

  test('create a knowledge base', async () => {
    await page.goto(`${URL_BASE}/datasets`);
    await page.getByRole('button', { name: 'Create knowledge base' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create knowledge base' });
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    assert.match(await fieldError(dialog.getByLabel('Name')), /Enter a name/);
    await dialog.getByLabel('Name').fill(DATASET);
    await dialog.getByLabel('Description').fill('Notes from the marsh and the greenhouse');
    // The installed embedding models are offered, the server's default first and chosen.
    const model = dialog.getByLabel('Embedding model');
    await model.locator('option', { hasText: 'multilingual-e5-small' }).waitFor({ state: 'attached' });
    assert.deepEqual(await model.locator('option').allTextContents(),
      ['sentence-transformers/all-MiniLM-L6-v2-int8-dynamic', 'intfloat/multilingual-e5-small-q4']);
    assert.equal(await model.inputValue(), 'sentence-transformers/all-MiniLM-L6-v2-int8-dynamic');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await page.waitForURL(/\/datasets\/[0-9a-f-]+\/documents\/create$/);
    state.datasetId = page.url().split('/datasets/')[1].split('/')[0];
    await page.goto(`${URL_BASE}/datasets`);
    await page.getByRole('link', { name: DATASET }).waitFor();
    await shot('03-datasets');
  });

  test('upload a Markdown file and a PDF (and a refused file) and watch both reach Available', async () => {
    await page.goto(`${URL_BASE}/datasets/${state.datasetId}/documents/create`);
    await page.getByRole('heading', { name: 'Add documents' }).waitFor();
    const refused = path.join(mkdtempSync(path.join(os.tmpdir(), 'ragd-web-')), 'tool.exe');
    writeFileSync(refused, 'MZ not a document');
    await page.locator('input[type=file]').setInputFiles([path.join(FIXTURES, MARKDOWN), path.join(FIXTURES, PDF), refused]);
    const files = page.getByRole('list', { name: 'Files' });
    // The refused file fails on its own; the other two upload.
    await files.getByRole('listitem').filter({ hasText: 'tool.exe' }).getByText(/^Failed:/).waitFor();
    await files.getByRole('listitem').filter({ hasText: MARKDOWN }).getByText('Uploaded').waitFor();
    await files.getByRole('listitem').filter({ hasText: PDF }).getByText('Uploaded').waitFor();
    await files.getByRole('button', { name: 'Remove tool.exe' }).click();

    // A custom rule: a wrong length is refused next to its field, then the preview shows chunks.
    await page.getByLabel(/^Custom/).check();
    await page.getByLabel('Maximum chunk length (tokens)').fill('10');
    await page.getByRole('button', { name: 'Preview chunks' }).click();
    assert.match(await fieldError(page.getByLabel('Maximum chunk length (tokens)')), /from 50 to/);
    await page.getByLabel('Maximum chunk length (tokens)').fill('200');
    await page.getByLabel('Chunk overlap (tokens)').fill('20');
    await page.getByRole('button', { name: 'Preview chunks' }).click();
    const preview = page.getByRole('region', { name: 'Chunk preview' });
    await preview.getByText(/herons/).first().waitFor();
    await shot('04-upload');

    await page.getByRole('button', { name: 'Save and process' }).click();
    await page.waitForURL(/\/documents$/);
    const rowOf = (name) => page.getByRole('row').filter({ has: page.getByRole('rowheader', { name }) });
    await rowOf(MARKDOWN).getByText('Available').waitFor({ timeout: INDEXING_TIMEOUT });
    await rowOf(PDF).getByText('Available').waitFor({ timeout: INDEXING_TIMEOUT });
    await shot('05-documents');
  });

  test('open the chunks', async () => {
    await page.getByRole('link', { name: PDF }).click();
    await page.getByRole('heading', { name: PDF, level: 1 }).waitFor();
    const chunks = page.getByRole('list', { name: 'Chunks' });
    await chunks.getByText(/grey herons of the Wexby saltmarsh/).first().waitFor();
    // Search narrows the list; a word not in the document empties it.
    await page.getByLabel('Search chunks').fill('pumping station');
    await chunks.getByText(/pumping station/).first().waitFor();
    await page.getByLabel('Search chunks').fill('zeppelin');
    await page.waitForFunction(() => document.querySelectorAll('ol.chunks > li').length === 0);
    await page.getByLabel('Search chunks').fill('');
    await chunks.getByText(/grey herons/).first().waitFor();
    await shot('06-chunks');
  });

  test('run a retrieval test that finds the PDF', async () => {
    await page.goto(`${URL_BASE}/datasets/${state.datasetId}/hitTesting`);
    await page.getByLabel('Query').fill('When do the grey herons begin their autumn migration?');
    await page.getByLabel('Retrieval method').selectOption('hybrid_search');
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    const first = page.locator('.records > li').first();
    await first.waitFor();
    assert.match(await first.locator('.source').textContent(), new RegExp(PDF.replace('.', '\\.')));
    assert.match(await first.locator('.score').textContent(), /Score \d\.\d{4}/);
    await shot('07-retrieval-testing');
  });

  test('import a small website: crawl progress, pages, then indexing', async () => {
    // A three-page site on loopback (web_test.sh allows 127.0.0.1 for outbound requests).
    const pages = {
      '/': '<title>Tea house</title><main><p>Welcome.</p><a href="/green">Green</a> <a href="/black">Black</a> <a href="/private/x">Staff</a></main>',
      '/green': '<title>Green tea</title><main><p>Sencha is steamed green tea.</p></main>',
      '/black': '<title>Black tea</title><main><p>Assam is a malty black tea.</p></main>',
      '/private/x': '<title>Staff</title><p>Not for crawlers.</p>',
    };
    const site = http.createServer((req, res) => {
      if (req.url === '/robots.txt') { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('User-agent: *\nDisallow: /private/\n'); return; }
      const body = pages[req.url];
      res.writeHead(body ? 200 : 404, { 'Content-Type': 'text/html' });
      res.end(body ? `<html><head>${body}</head></html>` : 'not found');
    });
    await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
    const siteUrl = `http://127.0.0.1:${site.address().port}`;
    try {
      await page.goto(`${URL_BASE}/datasets/${state.datasetId}/documents/create`);
      await page.getByLabel(/^Website —/).check();
      await page.getByLabel('Page limit').fill('0');
      await page.getByLabel('Website URL').fill(`${siteUrl}/`);
      await page.getByRole('button', { name: 'Crawl', exact: true }).click();
      await page.locator('.field-error:not([hidden])').filter({ hasText: /limit/ }).waitFor();
      assert.match(await fieldError(page.getByLabel('Page limit')), /limit/);
      await page.getByLabel('Page limit').fill('5');
      await page.getByRole('button', { name: 'Crawl', exact: true }).click();
      await page.getByRole('region', { name: 'Website' }).getByText(/^3 pages read, 1 not imported/).waitFor({ timeout: 60_000 });
      const crawled = page.getByRole('list', { name: 'Crawled pages' });
      assert.equal(await crawled.getByRole('listitem').count(), 3);
      await page.getByRole('list', { name: 'Pages not imported' }).getByText(/robots\.txt/).waitFor();
      await page.getByLabel(`Import ${siteUrl}/`, { exact: true }).uncheck();
      await shot('05b-website');
      await page.getByRole('button', { name: 'Save and process' }).click();
      await page.waitForURL(/\/documents$/);
      const rowOf = (name) => page.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
      await rowOf(`${siteUrl}/green`).getByText('Available').waitFor({ timeout: INDEXING_TIMEOUT });
      await rowOf(`${siteUrl}/black`).getByText('Available').waitFor({ timeout: INDEXING_TIMEOUT });
      assert.equal(await rowOf(`${siteUrl}/`).count(), 0, 'the unticked page was not imported');
    } finally {
      site.close();
    }
  });

  test('create an API key and use it', async () => {
    await page.goto(`${URL_BASE}/settings/api-keys`);
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Your new API key' });
    const key = await dialog.getByRole('textbox', { name: 'New API key' }).inputValue();
    assert.match(key, /^dataset-/);
    await shot('08-api-key');
    await dialog.getByRole('button', { name: 'Done' }).click();
    // Listed masked only.
    const keys = page.locator('table.keys tbody');
    await keys.getByRole('row').first().waitFor();
    assert.ok(!(await keys.textContent()).includes(key), 'the list never shows the whole key');

    const list = await fetch(`${URL_BASE}/v1/datasets`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(list.status, 200);
    assert.ok((await list.json()).data.some((d) => d.name === DATASET));
    const hits = await fetch(`${URL_BASE}/v1/datasets/${state.datasetId}/retrieve`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: 'heron count at the pumping station' }),
    });
    assert.equal(hits.status, 200);
    const records = (await hits.json()).records;
    assert.equal(records[0].segment.document.name, PDF);
    const refused = await fetch(`${URL_BASE}/v1/datasets`, { headers: { Authorization: 'Bearer dataset-wrong' } });
    assert.equal(refused.status, 401);
  });

  test('create a chat app bound to the knowledge base and get a streamed answer with a citation', async (t) => {
    // The app routes come with the apps work; until the server routes them, say so and skip.
    const probe = await page.evaluate(async () => {
      const r = await fetch('/console/api/apps', { method: 'OPTIONS' });
      return r.status === 404 ? (await r.json()).message : '';
    });
    if (probe === 'The requested URL was not found on the server.') {
      t.skip('this server has no /console/api/apps routes yet');
      return;
    }
    await page.goto(`${URL_BASE}/apps`);
    await page.getByRole('button', { name: 'Create app' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create app' });
    await dialog.getByLabel('Name').fill('Marsh helper');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await page.waitForURL(/\/app\/[0-9a-f-]+\/configuration$/);
    state.appBase = page.url().replace(/\/configuration$/, '');
    await page.getByLabel(DATASET).check();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('App saved').first().waitFor();

    const streamed = page.waitForResponse((r) => r.url().includes('/chat-messages') && r.request().method() === 'POST');
    await page.getByLabel('Message').fill('When do the grey herons begin their migration?');
    await page.getByLabel('Message').press('Enter');
    const response = await streamed;
    assert.match(response.headers()['content-type'], /^text\/event-stream/);
    const answer = page.locator('.msg-bot').last();
    await answer.locator('.citations').waitFor({ timeout: 60_000 });
    assert.ok((await answer.locator('.answer-text').textContent()).trim().length > 0, 'an answer was streamed');
    assert.match(await answer.locator('.citation-doc').first().textContent(), new RegExp(PDF.replace('.', '\\.')));
    await shot('09-chat-playground');

    // App API keys on the API access tab.
    await page.getByRole('link', { name: 'API access' }).click();
    await page.getByRole('button', { name: 'Create key' }).click();
    assert.match(await page.getByRole('textbox', { name: 'New API key' }).inputValue(), /^app-/);
    await page.getByRole('button', { name: 'Done' }).click();
  });

  test('annotate a question, turn annotation reply on, and find the answer in the logs', async (t) => {
    if (!state.appBase) {
      t.skip('no app was created');
      return;
    }
    const question = 'Where should visitors park?';
    const reply = 'Park at the visitor centre on Marsh Lane.';
    await page.goto(`${state.appBase}/annotations`);
    await page.getByRole('heading', { name: 'Annotation reply' }).waitFor();
    await page.getByRole('button', { name: 'Add annotation' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add annotation' });
    await dialog.getByRole('button', { name: 'Save' }).click();
    assert.match(await fieldError(dialog.getByLabel('Question')), /Enter a question/);
    await dialog.getByLabel('Question').fill(question);
    await dialog.getByLabel('Answer').fill(reply);
    await dialog.getByRole('button', { name: 'Save' }).click();
    const annotations = page.getByRole('table', { name: 'Annotations' });
    await annotations.getByRole('cell', { name: question, exact: true }).waitFor();
    await page.getByLabel('Answer close questions with their annotation').check();
    await page.getByLabel('Score threshold').fill('0.9');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('region', { name: 'Annotation reply' }).getByText('Annotation reply is on (threshold 0.9).').waitFor({ timeout: 60_000 });
    await shot('10-annotations');

    // The playground gets the annotation's answer.
    await page.getByRole('link', { name: 'Configure and test' }).click();
    await page.getByLabel('Message').fill(question);
    await page.getByLabel('Message').press('Enter');
    const answer = page.locator('.msg-bot').last();
    await answer.locator('.answer-text', { hasText: reply }).waitFor({ timeout: 60_000 });

    // The hit is counted and listed.
    await page.getByRole('link', { name: 'Annotations' }).click();
    const row = page.getByRole('table', { name: 'Annotations' }).getByRole('row', { name: new RegExp(question.replace('?', '\\?')) });
    await row.getByRole('cell', { name: '1', exact: true }).waitFor();
    await row.getByRole('button', { name: /Hits of/ }).click();
    const hits = page.getByRole('dialog', { name: /Hits of/ });
    await hits.getByRole('cell', { name: question, exact: true }).waitFor();
    await hits.getByRole('cell', { name: 'console', exact: true }).waitFor();
    await hits.getByRole('button', { name: 'Close' }).click();

    // The logs list the conversation; it opens to its messages, the annotated answer marked.
    await page.getByRole('link', { name: 'Logs' }).click();
    const logs = page.getByRole('table', { name: 'Logs' });
    await logs.getByRole('button', { name: question }).click();
    const messages = page.getByRole('list', { name: 'Messages' });
    await messages.getByText(reply).waitFor();
    await messages.getByText('Answered by an annotation').waitFor();
    await page.getByLabel('Search logs').fill('no such words anywhere');
    await page.getByText('Nothing matches this search.').waitFor();
    await shot('11-logs');
  });

  test('tag a knowledge base and an app, filter the lists by tag, remove a tag', async () => {
    await page.goto(`${URL_BASE}/datasets`);
    await page.getByRole('button', { name: `Edit tags of ${DATASET}` }).click();
    let dialog = page.getByRole('dialog', { name: `Tags of “${DATASET}”` });
    await dialog.getByLabel('New tag').fill('wetlands');
    await dialog.getByRole('button', { name: 'Save' }).click();
    const tags = page.getByRole('list', { name: `Tags of ${DATASET}` });
    await tags.getByText('wetlands').waitFor();
    // The filter lists the new tag; choosing it keeps the tagged knowledge base.
    const filter = page.getByLabel('Filter by tag');
    await filter.locator('option', { hasText: 'wetlands (1)' }).waitFor({ state: 'attached' });
    await filter.selectOption({ label: 'wetlands (1)' });
    await page.getByRole('link', { name: DATASET }).waitFor();
    await shot('10-dataset-tags');
    // Tags survive a reload (they are the server's).
    await page.reload();
    await page.getByRole('list', { name: `Tags of ${DATASET}` }).getByText('wetlands').waitFor();

    // An app tag on the app.
    await page.goto(`${URL_BASE}/apps`);
    const app = page.locator('.card').first();
    const appName = (await app.locator('.card-title').textContent()).trim();
    await page.getByRole('button', { name: `Edit tags of ${appName}` }).click();
    dialog = page.getByRole('dialog', { name: `Tags of “${appName}”` });
    assert.equal(await dialog.getByRole('checkbox').count(), 0, 'knowledge tags are not app tags');
    await dialog.getByLabel('New tag').fill('birds');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('list', { name: `Tags of ${appName}` }).getByText('birds').waitFor();
    const appFilter = page.getByLabel('Filter by tag');
    await appFilter.locator('option', { hasText: 'birds (1)' }).waitFor({ state: 'attached' });
    await appFilter.selectOption({ label: 'birds (1)' });
    await page.getByRole('link', { name: appName }).waitFor();

    // Removing the tag: unchecked and saved, it is gone from the card.
    await page.getByRole('button', { name: `Edit tags of ${appName}` }).click();
    dialog = page.getByRole('dialog', { name: `Tags of “${appName}”` });
    await dialog.getByLabel('birds').uncheck();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('list', { name: `Tags of ${appName}` }).getByText('birds').count(), 0);
    // The filter counts the bindings again.
    await appFilter.locator('option', { hasText: 'birds (0)' }).waitFor({ state: 'attached' });
  });

  test('narrow window and dark mode', async () => {
    const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', storageState: await context.storageState() });
    const small = await narrow.newPage();
    await small.goto(`${URL_BASE}/datasets/${state.datasetId}/documents`);
    await small.getByRole('rowheader', { name: PDF }).waitFor();
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no sideways scrolling on a narrow window (overflow ${overflow}px)`);
    const background = await small.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, 'rgb(18, 20, 23)', 'dark theme from prefers-color-scheme');
    await small.screenshot({ path: path.join(SHOTS, '10-documents-narrow-dark.png'), fullPage: true });
    await narrow.close();
    assert.deepEqual(consoleErrors, [], 'no uncaught errors in the pages');
  });
});
