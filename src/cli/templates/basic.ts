import { quote } from '../../lang/format-words.ts';
import { localDeployBlock } from './deploy.ts';
import { GITIGNORE } from './gitignore.ts';
import type { Template } from './index.ts';

export const basicTemplate: Template = {
  name: 'basic',
  description: 'one prompt and one agent served by a local process',
  agent: 'assistant',
  port: 8080,
  spec: 'main.ias',
  files: (pkg, port) => [
    {
      path: 'main.ias',
      content: `# A starter spec: one prompt, one agent, served by a local process.
# The \`echo\` model is the built-in deterministic model: it runs without an API key.
# Swap it for a real one (e.g. "claude-sonnet-4-20250514") once a key is set.
package ${quote(pkg)} version "0.1.0" lang "2.0"

prompt "system" {
  content "You are a helpful assistant. Answer briefly and precisely."
}

agent "assistant" {
  uses prompt "system"
  model "echo"
  max_turns 5
  timeout "30s"
}

${localDeployBlock(port)}`,
    },
    { path: '.gitignore', content: GITIGNORE, optional: true },
  ],
};
