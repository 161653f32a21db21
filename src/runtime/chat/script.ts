/**
 * The chat page's script (plain browser JavaScript, served as is). It talks only to the API of
 * the runtime that served it, same origin, JSON bodies; it never builds HTML from data (all text
 * goes through textContent).
 */
export const CHAT_JS = String.raw`'use strict';
(() => {
  const KEY = 'agentspec.apiKey';
  const AGENT = 'agentspec.agent';
  const sessionKey = (agent) => 'agentspec.session.' + agent;
  const $ = (id) => document.getElementById(id);
  const ui = {
    agent: $('agent'), newSession: $('new-session'), session: $('session'), forget: $('forget-key'),
    banner: $('banner'), keyForm: $('key-form'), keyNote: $('key-note'), key: $('key'),
    messages: $('messages'), composer: $('composer'), input: $('input'), send: $('send'),
  };
  const saved = {
    get: (k) => sessionStorage.getItem(k),
    set: (k, v) => sessionStorage.setItem(k, v),
    drop: (k) => sessionStorage.removeItem(k),
  };
  let busy = false;

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function headers(json, accept) {
    const h = { accept: accept || 'application/json' };
    const key = saved.get(KEY);
    if (key) h['x-api-key'] = key;
    if (json) h['content-type'] = 'application/json';
    return h;
  }

  async function request(method, path, body, accept) {
    try {
      return await fetch(path, {
        method,
        headers: headers(body !== undefined, accept),
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
      });
    } catch (err) {
      throw new ApiError(0, 'network_error', 'cannot reach the runtime (' + err.message + ')');
    }
  }

  async function errorOf(res) {
    let code = 'http_' + res.status;
    let message = res.statusText || 'the request failed';
    const text = await res.text();
    try {
      const body = JSON.parse(text);
      if (body && typeof body.message === 'string') message = body.message;
      if (body && typeof body.error === 'string') code = body.error;
    } catch (err) {
      if (text) message = text.slice(0, 300);
      console.debug('error body is not JSON', err);
    }
    return new ApiError(res.status, code, message);
  }

  async function api(method, path, body) {
    const res = await request(method, path, body);
    if (!res.ok) throw await errorOf(res);
    return res.status === 204 ? null : res.json();
  }

  const agentPath = (agent) => '/v1/agents/' + encodeURIComponent(agent);

  function describe(err) {
    if (err instanceof ApiError) return err.message + (err.status ? ' (' + err.code + ', HTTP ' + err.status + ')' : ' (' + err.code + ')');
    return String(err && err.message ? err.message : err);
  }

  function showBanner(text) {
    ui.banner.textContent = text;
    ui.banner.hidden = false;
  }

  function hideBanner() {
    ui.banner.hidden = true;
    ui.banner.textContent = '';
  }

  function askForKey(reason) {
    ui.keyNote.textContent = reason;
    ui.keyForm.hidden = false;
    ui.key.value = '';
    ui.key.focus();
    setReady(false);
  }

  /** Errors of page-level actions: a missing or wrong key asks for one, the rest goes to the banner. */
  function showError(err) {
    if (err instanceof ApiError && err.status === 401) {
      askForKey(saved.get(KEY) ? 'The API key was refused: ' + err.message : 'This runtime needs an API key: ' + err.message);
      return;
    }
    showBanner('Error: ' + describe(err));
  }

  function setReady(ready) {
    const on = ready && !busy;
    ui.agent.disabled = !ready || busy;
    ui.newSession.disabled = !on;
    ui.input.disabled = !on;
    ui.send.disabled = !on;
    ui.forget.hidden = !saved.get(KEY);
  }

  function scrollDown() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function add(kind, text) {
    const el = document.createElement('div');
    el.className = 'msg ' + kind;
    el.textContent = text;
    ui.messages.append(el);
    scrollDown();
    return el;
  }

  function notice(text) {
    const el = add('notice', text);
    el.className = 'notice';
    return el;
  }

  function pretty(value) {
    if (typeof value === 'string') return value;
    try {
      return JSON.stringify(value, null, 2);
    } catch (err) {
      return String(err);
    }
  }

  function addToolCall(call) {
    const el = document.createElement('div');
    el.className = 'msg tool';
    el.dataset.callId = call.id;
    const head = document.createElement('div');
    head.className = 'tool-head';
    head.append('Tool call ');
    const name = document.createElement('code');
    name.textContent = call.name;
    head.append(name);
    const input = document.createElement('pre');
    input.className = 'tool-input';
    input.textContent = pretty(call.input === undefined ? {} : call.input);
    const result = document.createElement('pre');
    result.className = 'tool-result';
    result.textContent = 'no result yet';
    el.append(head, input, result);
    ui.messages.append(el);
    scrollDown();
    return el;
  }

  function setToolResult(card, content, failed) {
    const result = card.querySelector('.tool-result');
    result.textContent = (failed ? 'error: ' : 'result: ') + content;
    result.classList.toggle('failed', Boolean(failed));
  }

  function render(messages) {
    ui.messages.replaceChildren();
    const cards = new Map();
    for (const m of messages) {
      if (m.role === 'user') add('user', m.content || '');
      else if (m.role === 'assistant') {
        if (m.content) add('assistant', m.content);
        for (const call of m.tool_calls || []) cards.set(call.id, addToolCall(call));
      } else if (m.role === 'tool' && m.tool_result) {
        const card = cards.get(m.tool_result.tool_call_id);
        if (card) setToolResult(card, m.tool_result.content, m.tool_result.is_error);
        else add('tool', 'Tool result: ' + m.tool_result.content);
      }
    }
  }

  function showSession(id) {
    ui.session.textContent = id ? 'session ' + id : 'new conversation';
  }

  async function loadHistory(agent, id) {
    const page = await api('GET', agentPath(agent) + '/sessions/' + encodeURIComponent(id));
    render(page.messages);
  }

  async function selectAgent(agent) {
    saved.set(AGENT, agent);
    ui.messages.replaceChildren();
    hideBanner();
    const id = saved.get(sessionKey(agent));
    showSession(id);
    if (!id) return;
    try {
      await loadHistory(agent, id);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        saved.drop(sessionKey(agent));
        showSession('');
        notice('The earlier conversation has expired; your next message starts a new one.');
        return;
      }
      throw err;
    }
  }

  async function loadAgents() {
    const data = await api('GET', '/v1/agents');
    ui.keyForm.hidden = true;
    ui.agent.replaceChildren();
    for (const a of data.agents) {
      const label = a.status === 'running' ? a.name : a.name + ' (unavailable: ' + (a.status_reason || a.status) + ')';
      const opt = new Option(label, a.name);
      opt.title = a.model;
      ui.agent.append(opt);
    }
    if (data.agents.length === 0) {
      showBanner('This runtime serves no agents.');
      setReady(false);
      return;
    }
    const last = saved.get(AGENT);
    if (last && data.agents.some((a) => a.name === last)) ui.agent.value = last;
    setReady(true);
    await selectAgent(ui.agent.value);
    ui.input.focus();
  }

  function parseEvent(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    return { event, data: data.length === 0 ? null : JSON.parse(data.join('\n')) };
  }

  /** POST .../stream and feed text deltas to onText as they arrive; resolves with the done event. */
  async function stream(agent, sessionId, message, onText) {
    const res = await request('POST', agentPath(agent) + '/stream', { message, session_id: sessionId }, 'text/event-stream');
    if (!res.ok) throw await errorOf(res);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const ev = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (ev.event === 'text' && ev.data) onText(ev.data.text);
        else if (ev.event === 'done') return ev.data;
        else if (ev.event === 'error') {
          const d = ev.data || {};
          throw new ApiError(d.status || 0, d.error || 'error', d.message || 'the answer failed');
        }
      }
    }
    throw new ApiError(0, 'stream_broken', 'the answer stream ended before the answer was complete');
  }

  async function ensureSession(agent) {
    const id = saved.get(sessionKey(agent));
    if (id) return id;
    const created = await api('POST', agentPath(agent) + '/sessions', {});
    saved.set(sessionKey(agent), created.session_id);
    showSession(created.session_id);
    return created.session_id;
  }

  async function send(text) {
    const agent = ui.agent.value;
    busy = true;
    setReady(true);
    hideBanner();
    add('user', text);
    const answer = add('assistant streaming', '');
    try {
      const id = await ensureSession(agent);
      const done = await stream(agent, id, text, (delta) => {
        answer.textContent += delta;
        scrollDown();
      });
      // The stored history is the truth (tool calls, their results, every step): show it.
      await loadHistory(agent, id);
      const last = [...ui.messages.querySelectorAll('.msg.assistant')].pop();
      if (last) {
        const meta = document.createElement('span');
        meta.className = 'meta';
        meta.textContent = done.agent + ' \u00b7 ' + done.tokens.total + ' tokens \u00b7 ' + (done.duration_ms / 1000).toFixed(2) + ' s' +
          (done.stop_reason === 'end_turn' ? '' : ' \u00b7 stopped: ' + done.stop_reason);
        last.append(meta);
      }
    } catch (err) {
      answer.classList.remove('streaming');
      if (answer.textContent === '') answer.remove();
      if (err instanceof ApiError && err.status === 401) {
        showError(err);
        return;
      }
      if (err instanceof ApiError && err.status === 404 && /session/.test(err.message)) {
        saved.drop(sessionKey(agent));
        showSession('');
      }
      add('error', 'The answer failed: ' + describe(err) + '. This message was not saved.');
    } finally {
      answer.classList.remove('streaming');
      busy = false;
      setReady(ui.keyForm.hidden);
    }
  }

  ui.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = ui.input.value.trim();
    if (!text || busy) return;
    ui.input.value = '';
    send(text).catch(showError);
  });
  ui.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      ui.composer.requestSubmit();
    }
  });
  ui.agent.addEventListener('change', () => {
    selectAgent(ui.agent.value).catch(showError);
  });
  ui.newSession.addEventListener('click', () => {
    saved.drop(sessionKey(ui.agent.value));
    ui.messages.replaceChildren();
    showSession('');
    hideBanner();
    ui.input.focus();
  });
  ui.keyForm.addEventListener('submit', (e) => {
    e.preventDefault();
    saved.set(KEY, ui.key.value.trim());
    hideBanner();
    loadAgents().catch(showError);
  });
  ui.forget.addEventListener('click', () => {
    saved.drop(KEY);
    loadAgents().catch(showError);
  });

  loadAgents().catch(showError);
})();
`;
