// MCP call overhead: the same `echo` tool of server-everything (stdio), called in sequence
//  baseline: a bare @modelcontextprotocol/sdk Client over the SDK's own stdio transport;
//  ours:     a `tool mcp` skill through the pool (guarded child, argument check, result as text).
// Both run at once and are called alternately. Prints the median and mean per call of each and
// the ratio of the medians (aim: <= 1.2x).
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { IRDocument } from '../src/ir/types.ts';
import { configureLogging } from '../src/log.ts';
import { startMcp } from '../src/tools/mcp/index.ts';

const CALLS = Number(process.env.BENCH_MCP_CALLS ?? 2000);
const WARMUP = 200;

const require = createRequire(import.meta.url);
const EVERYTHING = path.join(path.dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist', 'index.js');

export interface McpBenchResult {
  calls: number;
  baselineMeanUs: number;
  oursMeanUs: number;
  baselineMedianUs: number;
  oursMedianUs: number;
  ratio: number;
}

interface Stats {
  mean: number;
  median: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  return { mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, median: sorted[Math.floor(sorted.length / 2)] ?? 0 };
}

function benchDoc(): IRDocument {
  const res = (kind: 'Agent' | 'Prompt' | 'MCPServer' | 'Skill', name: string, attributes: Record<string, unknown>): NonNullable<IRDocument['resources']>[number] => ({
    kind,
    name,
    fqn: `bench/${kind}/${name}`,
    attributes: attributes as never,
    hash: `sha256:${kind}-${name}`,
  });
  return {
    ir_version: '1.0',
    lang_version: '2.0',
    package: { name: 'bench', version: '0.1.0' },
    resources: [
      res('Agent', 'bot', { model: 'echo', prompt: 'p', skills: ['say'] }),
      res('MCPServer', 'everything', { transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] }),
      res('Prompt', 'p', { content: 'x' }),
      res('Skill', 'say', { description: 'Say', input: [{ name: 'message', type: 'string', required: true }], tool: { type: 'mcp', server_tool: 'everything/echo' } }),
    ],
  };
}

async function round(base: number[], ours: number[], baselineFirst: boolean): Promise<void> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const connectBaseline = (): Promise<void> => client.connect(new StdioClientTransport({ command: process.execPath, args: [EVERYTHING, 'stdio'] }));
  if (baselineFirst) await connectBaseline();
  const pool = await startMcp([benchDoc()], { secrets: new Map() });
  if (!baselineFirst) await connectBaseline();
  const tool = pool.toolFor('say', 'everything', 'echo', {
    name: 'say',
    description: 'Say',
    input_schema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
  });
  const ctx = { agent: 'bot', session: 'sess_bench', signal: new AbortController().signal };
  const direct = async (i: number): Promise<void> => {
    const r = await client.callTool({ name: 'echo', arguments: { message: `m${i}` } });
    if (r.isError === true) throw new Error('baseline call failed');
  };
  const pooled = async (i: number): Promise<void> => {
    const r = await tool.call({ message: `m${i}` }, ctx);
    if (r.is_error) throw new Error(`call failed: ${r.content}`);
  };
  try {
    for (let i = 0; i < WARMUP; i++) {
      await direct(i);
      await pooled(i);
    }
    // Alternating call by call, so a busy moment of the machine lands on both sides alike.
    for (let i = 0; i < CALLS / 2; i++) {
      for (const side of i % 2 === 0 ? [base, ours] : [ours, base]) {
        const t0 = performance.now();
        await (side === base ? direct(i) : pooled(i));
        side.push((performance.now() - t0) * 1000);
      }
    }
  } finally {
    await client.close();
    await pool.close();
  }
}

export async function runMcpBench(): Promise<McpBenchResult> {
  const base: number[] = [];
  const ours: number[] = [];
  // Two rounds, each side's server started first once: start order must not favour either.
  await round(base, ours, true);
  await round(base, ours, false);
  const b = stats(base);
  const o = stats(ours);
  const result: McpBenchResult = {
    calls: CALLS,
    baselineMeanUs: Math.round(b.mean),
    oursMeanUs: Math.round(o.mean),
    baselineMedianUs: Math.round(b.median),
    oursMedianUs: Math.round(o.median),
    ratio: Math.round((o.median / b.median) * 100) / 100,
  };
  process.stdout.write(
    `MCP echo call over stdio, ${CALLS} calls each, alternating\n` +
      `  baseline (bare SDK client, SDK stdio transport): median ${result.baselineMedianUs} us, mean ${result.baselineMeanUs} us\n` +
      `  ours (pool, guarded child, checked arguments):    median ${result.oursMedianUs} us, mean ${result.oursMeanUs} us\n` +
      `  ratio ours/baseline (median): ${result.ratio.toFixed(2)}x, (mean): ${(o.mean / b.mean).toFixed(2)}x (aim <= 1.2x)\n`,
  );
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  // Start-up lines would interleave with the figures.
  configureLogging({ level: process.env.AGENTSPEC_LOG_LEVEL ?? 'warn' });
  await runMcpBench();
}
