import { test } from 'node:test';
import assert from 'node:assert/strict';
import { irDoc, startTestServer } from './fixtures.ts';

test('the chat page and its assets are served without a key, with a CSP that allows only this origin', async (t) => {
  const srv = await startTestServer([irDoc({ agents: [{ name: 'bot' }] })], { apiKeys: ['k'] });
  t.after(() => srv.close());
  const page = await fetch(`${srv.url}/`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /connect-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const html = await page.text();
  assert.match(html, /<script src="\/chat\/app\.js" defer><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="\/chat\/app\.css">/);
  assert.doesNotMatch(html, /<script>|style="/, 'no inline script or style (the CSP forbids them)');

  const js = await fetch(`${srv.url}/chat/app.js`);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  const script = await js.text();
  // The script is valid JavaScript (the browser test runs it; this fails fast on a syntax slip).
  assert.doesNotThrow(() => new Function(script));
  assert.match(script, /'x-api-key'/);
  assert.match(script, /'content-type'\] = 'application\/json'/);

  const css = await fetch(`${srv.url}/chat/app.css`);
  assert.equal(css.status, 200);
  assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');

  // The API behind it still needs the key.
  assert.equal((await fetch(`${srv.url}/v1/agents`)).status, 401);
});
