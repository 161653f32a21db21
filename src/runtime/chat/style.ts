/** The chat page's stylesheet. */
export const CHAT_CSS = `
:root { color-scheme: light dark; --bg: #f6f7f9; --fg: #1d2330; --muted: #5f6b7a; --user: #dbe9ff; --bot: #ffffff;
  --tool: #f3efe4; --err: #fde8e8; --err-fg: #8a1c1c; --border: #d5dae1; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #15181d; --fg: #e4e8ee; --muted: #9aa5b4; --user: #23395b; --bot: #1f242b; --tool: #2e2a20;
    --err: #4a1f1f; --err-fg: #ffd2d2; --border: #353c47; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; background: var(--bg); color: var(--fg);
  display: flex; flex-direction: column; height: 100vh; }
header { display: flex; align-items: center; gap: 12px; padding: 10px 16px; border-bottom: 1px solid var(--border); flex-wrap: wrap; }
h1 { font-size: 17px; margin: 0 8px 0 0; }
select, button, input, textarea { font: inherit; color: inherit; background: var(--bot); border: 1px solid var(--border); border-radius: 6px; padding: 5px 9px; }
button { cursor: pointer; }
button:disabled, select:disabled, textarea:disabled { opacity: .55; cursor: default; }
.session { color: var(--muted); font: 12px ui-monospace, monospace; }
.banner { margin: 10px 16px 0; padding: 9px 12px; border-radius: 6px; background: var(--err); color: var(--err-fg); }
.key-form { margin: 16px; padding: 14px; border: 1px solid var(--border); border-radius: 8px; background: var(--bot); max-width: 560px; }
.key-form p { margin: 0 0 10px; }
.key-form .hint { margin: 10px 0 0; color: var(--muted); font-size: 13px; }
.key-form input { width: 280px; }
main { flex: 1; overflow-y: auto; padding: 16px; display: flex; flex-direction: column; gap: 10px; }
.msg { max-width: 78%; padding: 9px 12px; border-radius: 10px; white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid var(--border); }
.msg.user { align-self: flex-end; background: var(--user); }
.msg.assistant { align-self: flex-start; background: var(--bot); }
.msg.assistant.streaming::after { content: "\\25CF"; margin-left: 4px; color: var(--muted); }
.msg.tool { align-self: flex-start; background: var(--tool); font-size: 13px; }
.msg.error { align-self: stretch; max-width: none; background: var(--err); color: var(--err-fg); }
.msg .meta { display: block; margin-top: 4px; color: var(--muted); font-size: 12px; }
.tool-head code { font-weight: 600; }
.tool pre { margin: 6px 0 0; white-space: pre-wrap; font: 12px ui-monospace, monospace; }
.tool-result.failed { color: var(--err-fg); }
.notice { align-self: center; color: var(--muted); font-size: 13px; }
.composer { display: flex; gap: 8px; padding: 10px 16px 14px; border-top: 1px solid var(--border); }
.composer textarea { flex: 1; resize: vertical; }
`;
