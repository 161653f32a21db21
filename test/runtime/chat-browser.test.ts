import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { irDoc } from './fixtures.ts';
import { startRunChild, type RunChild } from './run-child.ts';
import { listenOnLoopback } from '../helpers/loopback-server.ts';

const CHROMIUM = '/usr/bin/chromium';
const KEY = 'chat-test-key-0123456789';
const WAIT = { timeout: 20_000 };

type Turn = (res: http.ServerResponse) => Promise<void>;

/**
 * An OpenAI-compatible model server whose streamed answers the test scripts chunk by chunk (so it
 * can hold an answer half-sent while it looks at the page).
 */
async function startScriptedModel(turns: Turn[]): Promise<{ url: string; calls: () => number; close: () => Promise<void> }> {
  let calls = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const turn = turns[calls++];
      if (turn === undefined) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"no answer scripted"}}');
        return;
      }
      turn(res).catch((err: unknown) => res.destroy(err instanceof Error ? err : new Error(String(err))));
    });
  });
  const listening = await listenOnLoopback(server);
  return { ...listening, calls: () => calls };
}

function chunk(res: http.ServerResponse, data: unknown): void {
  res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

const delta = (d: Record<string, unknown>, finish: string | null = null): unknown => ({ choices: [{ index: 0, delta: d, finish_reason: finish }] });

async function text(l: Locator): Promise<string> {
  return (await l.textContent()) ?? '';
}

async function chromiumOrSkip(t: import('node:test').TestContext): Promise<boolean> {
  try {
    await access(CHROMIUM);
    return true;
  } catch (err) {
    const why = `${CHROMIUM} is not installed (apt-get install chromium): ${String(err)}`;
    if (process.env.CI === 'true') throw new Error(`${why} (CI=true: a missing tool is a failure)`);
    t.skip(why);
    return false;
  }
}

/**
 * Runs every step of a test's clean-up in order, each even when one before it failed (a failed
 * `t.after` hook skips the hooks after it, which left a runtime and a browser running and the
 * test process waiting for them), then throws what failed.
 */
async function cleanUp(steps: Array<() => Promise<unknown> | undefined>): Promise<void> {
  const failed: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      failed.push(err);
    }
  }
  if (failed.length === 1) throw failed[0];
  if (failed.length > 1) throw new AggregateError(failed, 'clean-up failed');
}

/** The test's directory, unless AGENTSPEC_TEST_KEEP; retried, as a browser's last writes may still land in its profile. */
function removeDir(dir: string): Promise<void> | undefined {
  return process.env.AGENTSPEC_TEST_KEEP === undefined ? rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }) : undefined;
}

/** Headless Chromium with a fresh profile in `profileDir`. */
function launch(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1000, height: 700 },
  });
}

test('chat page in real Chromium: API key, streamed answers, tool calls, history after reload, readable errors', { timeout: 180_000 }, async (t) => {
  if (!(await chromiumOrSkip(t))) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-chat-'));
  const shots = path.join(dir, 'screenshots');
  await mkdir(shots);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let halfSent!: () => void;
  const reachedHalf = new Promise<void>((resolve) => (halfSent = resolve));
  const model = await startScriptedModel([
    // The model says something, then calls a tool.
    async (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      chunk(res, delta({ role: 'assistant', content: 'Let me check. ' }));
      chunk(res, delta({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"city":' } }] }));
      chunk(res, delta({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }));
      chunk(res, delta({}, 'tool_calls'));
      chunk(res, { choices: [], usage: { prompt_tokens: 12, completion_tokens: 7 } });
      chunk(res, '[DONE]');
      res.end();
    },
    // The final answer, held half-sent until the test has seen the first part on the page.
    async (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      chunk(res, delta({ role: 'assistant', content: 'It is ' }));
      halfSent();
      await held;
      chunk(res, delta({ content: 'sunny in Paris.' }));
      chunk(res, delta({}, 'stop'));
      chunk(res, { choices: [], usage: { prompt_tokens: 20, completion_tokens: 5 } });
      chunk(res, '[DONE]');
      res.end();
    },
    async (res) => {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"the model is on fire"}}');
    },
  ]);
  const irFile = path.join(dir, 'ir.json');
  await writeFile(
    irFile,
    JSON.stringify(
      irDoc({
        pkg: 'chat-pkg',
        agents: [{ name: 'bot', model: 'echo' }, { name: 'helper', model: 'gpt-test', skills: ['lookup'] }],
        skills: {
          lookup: {
            description: 'Weather by city',
            input: [{ name: 'city', type: 'string', required: true }],
            tool: { type: 'command', binary: 'echo', args: ['forecast for', '{{city}}: sunny'] },
          },
        },
      }),
    ),
  );
  // Registered before anything else can fail, so a failed start never leaves a server behind; the
  // browser and the runtime go before the directory they write in.
  const started: { run?: RunChild; browser?: BrowserContext } = {};
  t.after(() =>
    cleanUp([
      () => started.browser?.close(),
      () => started.run?.stop(),
      () => {
        release();
        return model.close();
      },
      () => removeDir(dir),
    ]),
  );
  const run = (started.run = await startRunChild(['--ir', irFile, '--api-key', KEY], { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: model.url }));
  const browser = (started.browser = await launch(path.join(dir, 'profile')));
  const page: Page = await browser.newPage();
  const pageErrors: string[] = [];
  const cspViolations: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  const shot = async (name: string): Promise<void> => {
    const file = path.join(shots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    t.diagnostic(`screenshot ${file}`);
  };
  const input = page.locator('#input');
  const say = async (message: string): Promise<void> => {
    await input.fill(message);
    await input.press('Enter');
  };

  // No key yet: the page asks for one, and a wrong one is refused readably.
  await page.goto(`${run.url}/`);
  await page.locator('#key-form').waitFor({ state: 'visible', ...WAIT });
  assert.match(await text(page.locator('#key-note')), /This runtime needs an API key: missing or invalid API key/);
  await page.locator('#key').fill('not-the-key');
  await page.locator('#key').press('Enter');
  await page.locator('#key-note', { hasText: 'The API key was refused' }).waitFor(WAIT);
  assert.equal(await input.isDisabled(), true);
  await shot('1-wrong-key');

  // The right key: agents are listed.
  await page.locator('#key').fill(KEY);
  await page.locator('#key').press('Enter');
  await page.locator('#key-form').waitFor({ state: 'hidden', ...WAIT });
  assert.deepEqual(await page.locator('#agent option').evaluateAll((opts) => opts.map((o) => (o as unknown as { value: string }).value)), ['bot', 'helper']);

  // Echo agent: two turns in one session (the second answer counts the history it was sent).
  await page.locator('#agent').selectOption('bot');
  await say('hello there');
  await page.locator('.msg.assistant', { hasText: 'echo: hello there (messages: 1)' }).waitFor(WAIT);
  await page.locator('.msg.assistant .meta', { hasText: 'tokens' }).waitFor(WAIT);
  const sessionLabel = await text(page.locator('#session'));
  assert.match(sessionLabel, /^session sess_[A-Za-z0-9_-]{22}$/);
  await page.locator('#send:not([disabled])').waitFor(WAIT);
  await say('again');
  await page.locator('.msg.assistant', { hasText: 'echo: again (messages: 3)' }).waitFor(WAIT);

  // Reload: the key and the session are remembered, the history comes back from the server.
  await page.reload();
  await page.locator('.msg.assistant', { hasText: 'echo: again (messages: 3)' }).waitFor(WAIT);
  assert.equal(await page.locator('#key-form').isHidden(), true);
  assert.equal(await text(page.locator('#session')), sessionLabel);
  assert.deepEqual(await page.locator('#messages .msg').allTextContents(), [
    'hello there',
    'echo: hello there (messages: 1)',
    'again',
    'echo: again (messages: 3)',
  ]);
  await shot('2-history-after-reload');

  // A model that streams and calls a tool: the answer appears while it is being written...
  await page.locator('#agent').selectOption('helper');
  await say('weather in Paris?');
  await reachedHalf;
  const streaming = page.locator('.msg.assistant.streaming', { hasText: 'It is' });
  await streaming.waitFor(WAIT);
  const partial = await text(streaming);
  assert.equal(partial, 'Let me check. It is ', 'the page shows the text sent so far, before the answer is complete');
  await shot('3-streaming');
  release();
  // ...and once done, the tool call with its input and result, then the final answer.
  await page.locator('.msg.assistant', { hasText: 'It is sunny in Paris.' }).waitFor(WAIT);
  // The streamed text is complete before the page shows the stored turn (tool card included),
  // which it marks with the answer's meta line: wait for that, not for the text alone.
  await page.locator('.msg.assistant .meta', { hasText: 'helper' }).waitFor(WAIT);
  const tool = page.locator('.msg.tool');
  assert.equal(await tool.count(), 1);
  assert.equal(await text(tool.locator('.tool-head code')), 'lookup');
  assert.deepEqual(JSON.parse(await text(tool.locator('.tool-input'))), { city: 'Paris' });
  assert.match(await text(tool.locator('.tool-result')), /forecast for Paris: sunny/);
  assert.match(await text(page.locator('.msg.assistant .meta')), /^helper · 44 tokens · \d+\.\d\d s$/);
  await shot('4-tool-call');

  // The model fails: a readable error, and the failed message is not in the history.
  await page.locator('#send:not([disabled])').waitFor(WAIT);
  await say('and tomorrow?');
  const failure = page.locator('.msg.error');
  await failure.waitFor(WAIT);
  // The provider's own text stays in the server log: clients see its name and status only.
  assert.match(await text(failure), /^The answer failed: model provider "openai" failed \(HTTP 500\) \(upstream_error, HTTP 502\)\. This message was not saved\.$/);
  assert.doesNotMatch(await text(failure), /on fire/);
  await shot('5-model-error');
  await page.reload();
  await page.locator('.msg.assistant', { hasText: 'It is sunny in Paris.' }).waitFor(WAIT);
  assert.equal(await page.locator('#agent').inputValue(), 'helper');
  assert.equal(await page.locator('.msg.tool').count(), 1);
  assert.equal(await page.locator('.msg.user', { hasText: 'and tomorrow?' }).count(), 0);
  assert.equal(model.calls(), 3);

  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  assert.deepEqual(cspViolations, [], 'nothing the page does is blocked by its CSP');
});

test('chat page without API keys: no key is asked for, the answer appears, New conversation starts afresh', { timeout: 120_000 }, async (t) => {
  if (!(await chromiumOrSkip(t))) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-chat-nokey-'));
  const irFile = path.join(dir, 'ir.json');
  await writeFile(irFile, JSON.stringify(irDoc({ pkg: 'chat-open', agents: [{ name: 'solo', model: 'echo' }] })));
  const started: { run?: RunChild; browser?: BrowserContext } = {};
  t.after(() => cleanUp([() => started.browser?.close(), () => started.run?.stop(), () => removeDir(dir)]));
  const run = (started.run = await startRunChild(['--ir', irFile]));
  const browser = (started.browser = await launch(path.join(dir, 'profile')));
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`${run.url}/`);
  await page.locator('#input:not([disabled])').waitFor(WAIT);
  assert.equal(await page.locator('#key-form').isHidden(), true);
  assert.equal(await page.locator('#forget-key').isHidden(), true);
  assert.equal(await text(page.locator('#session')), 'new conversation');
  await page.locator('#input').fill('first words');
  await page.locator('#send').click();
  await page.locator('.msg.assistant', { hasText: 'echo: first words (messages: 1)' }).waitFor(WAIT);
  const first = await text(page.locator('#session'));
  assert.match(first, /^session sess_/);
  await page.screenshot({ path: path.join(dir, 'no-key.png') });

  await page.locator('#new-session').click();
  assert.equal(await page.locator('#messages .msg').count(), 0);
  await page.locator('#input').fill('fresh start');
  await page.locator('#input').press('Enter');
  // A new session: the model was sent this one message only.
  await page.locator('.msg.assistant', { hasText: 'echo: fresh start (messages: 1)' }).waitFor(WAIT);
  assert.notEqual(await text(page.locator('#session')), first);
  assert.deepEqual(pageErrors, []);
});
