import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFakeLlm, type FakeLlm } from './fake-llm.ts';
import { startRunChild, type RunChild } from './run-child.ts';

export interface SpecRuntime {
  run: RunChild;
  /** The Anthropic API the spec's `claude-*` models talk to. */
  fake: FakeLlm;
  close(): Promise<void>;
}

/** A real `agentspec run` child serving `spec` (written to a temp file), its Anthropic models on a fake API. */
export async function startSpecRuntime(spec: string, name: string): Promise<SpecRuntime> {
  const fake = await startFakeLlm();
  const dir = await mkdtemp(path.join(os.tmpdir(), `agentspec-${name}-`));
  const file = path.join(dir, `${name}.ias`);
  await writeFile(file, spec);
  let run: RunChild;
  try {
    run = await startRunChild([file], { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: fake.url });
  } catch (err) {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    run,
    fake,
    close: async () => {
      await run.stop();
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
