/** The chat page's document. Its script and style are separate files so the CSP can forbid inline code. */
export const CHAT_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>agentspec chat</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/chat/app.css">
<script src="/chat/app.js" defer></script>
</head>
<body>
<header>
  <h1>agentspec</h1>
  <label>Agent <select id="agent" disabled></select></label>
  <button id="new-session" type="button" disabled>New conversation</button>
  <span id="session" class="session"></span>
  <button id="forget-key" type="button" hidden>Forget API key</button>
</header>
<div id="banner" class="banner" role="alert" hidden></div>
<form id="key-form" class="key-form" hidden>
  <p id="key-note"></p>
  <label>API key <input id="key" type="password" autocomplete="off" required></label>
  <button type="submit">Use this key</button>
  <p class="hint">Kept in this tab's session storage only; sent as X-API-Key.</p>
</form>
<main id="messages" aria-live="polite"></main>
<form id="composer" class="composer">
  <textarea id="input" rows="2" placeholder="Message (Enter sends, Shift+Enter for a new line)" disabled></textarea>
  <button id="send" type="submit" disabled>Send</button>
</form>
</body>
</html>
`;
