import type { IRDocument } from '../../src/ir/types.ts';

/** The smallest IR document a runtime serves: prompt `p` and agent `a` on the echo model, in package `pkg`. */
export function echoDocument(pkg: string, content = 'hi'): IRDocument {
  return {
    ir_version: '1.0',
    lang_version: '2.0',
    package: { name: pkg, version: '0.1.0' },
    resources: [
      { kind: 'Prompt', name: 'p', fqn: `${pkg}/Prompt/p`, attributes: { content }, hash: 'sha256:x' },
      { kind: 'Agent', name: 'a', fqn: `${pkg}/Agent/a`, attributes: { model: 'echo', prompt: 'p' }, hash: 'sha256:y' },
    ],
  };
}
