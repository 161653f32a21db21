// Tool call overhead, each beside a baseline in the same run:
//  command: our command tool (validation, temp dir, scrubbed env, process group, caps) against a bare
//           child_process.spawn of the same binary with the same stdin; once without the sandbox and
//           once inside bubblewrap against a bare spawn of the same bwrap command line;
//  http:    our http tool (validation, SSRF guard, pinned address, cap) against a bare fetch of the
//           same loopback URL.
//  mcp:     a call through our MCP connection pool against a direct SDK client call (bench/mcp-calls.ts).
// Prints the mean time per call and the ratio (aim: <= 1.2x).
import { spawn } from 'node:child_process';
import { runMcpBench } from './mcp-calls.ts';
import { once } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import type { IRDocument, Resource } from '../src/ir/types.ts';
import { bwrapArgv, createSandbox, startToolSet, type Tool } from '../src/tools/index.ts';
import { findOnPath } from '../src/tools/path.ts';
import { pair as timedPair } from './_pair.ts';

const CALLS = Number(process.env.BENCH_TOOL_CALLS ?? 300);
const signal = new AbortController().signal;

function skillDoc(name: string, tool: Resource['attributes']): IRDocument {
  return {
    ir_version: '1.0',
    lang_version: '2.0',
    package: { name: 'bench', version: '0.1.0' },
    resources: [
      { kind: 'Skill', name, fqn: `bench/Skill/${name}`, hash: 'sha256:x', attributes: { description: 'd', input: [{ name: 'q', type: 'string' }], output: [{ name: 'o', type: 'string' }], tool } },
    ],
  };
}

async function toolOf(doc: IRDocument, opts: { sandbox: 'off' | 'required'; allowPrivateNetwork?: boolean }): Promise<{ tool: Tool; close(): Promise<void> }> {
  const set = await startToolSet([doc], { env: process.env, ...opts });
  const skill = doc.resources?.[0];
  if (skill === undefined) throw new Error('no skill');
  const agent: Resource = { kind: 'Agent', name: 'a', fqn: 'bench/Agent/a', hash: 'sha256:x', attributes: { skills: [skill.name] } };
  const tool = set.toolsFor(doc, agent)[0];
  if (tool === undefined) throw new Error('no tool');
  return { tool, close: () => set.close() };
}

function bareSpawn(argv: string[], stdin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    const child = spawn(file ?? '', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${String(code)}`))));
    child.stdin.end(stdin);
  });
}

async function pair(label: string, baseline: () => Promise<unknown>, ours: () => Promise<unknown>): Promise<void> {
  await timedPair(label, baseline, ours, { runs: CALLS, warmup: 20, unit: 'call' });
}

async function main(): Promise<void> {
  console.log(`${CALLS} calls each, sequential`);
  const cat = findOnPath('cat', process.env.PATH);
  if (cat === undefined) throw new Error('cat not on PATH');
  const input = JSON.stringify({ q: 'hello' });
  const check = (out: unknown): void => {
    if (typeof out === 'object' && out !== null && 'is_error' in out && out.is_error === true) throw new Error(`tool failed: ${JSON.stringify(out)}`);
  };

  const plain = await toolOf(skillDoc('cat', { type: 'command', binary: 'cat' }), { sandbox: 'off' });
  await pair('command (no sandbox) vs spawn', () => bareSpawn([cat], input), async () => check(await plain.tool.call({ q: 'hello' }, { agent: 'a', signal })));
  await plain.close();

  if (createSandbox('auto', process.env).active) {
    const bwrap = findOnPath('bwrap', process.env.PATH) ?? 'bwrap';
    const boxed = await toolOf(skillDoc('cat', { type: 'command', binary: 'cat' }), { sandbox: 'required' });
    await pair('command (bwrap) vs spawn of bwrap', () => bareSpawn(bwrapArgv(bwrap, [cat], '/tmp'), input), async () => check(await boxed.tool.call({ q: 'hello' }, { agent: 'a', signal })));
    await boxed.close();
  } else {
    console.log('command (bwrap): skipped, bubblewrap cannot run here');
  }

  const server = http.createServer((_req, res) => res.end('{"ok":true}'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/item`;
  const web = await toolOf(skillDoc('get', { type: 'http', url: `${url}?q={{q}}` }), { sandbox: 'off', allowPrivateNetwork: true });
  await pair(
    'http tool vs fetch',
    async () => (await fetch(`${url}?q=hello`)).text(),
    async () => check(await web.tool.call({ q: 'hello' }, { agent: 'a', signal })),
  );
  await web.close();
  server.closeAllConnections();
  server.close();

  await runMcpBench();
}

await main();
