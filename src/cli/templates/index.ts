import { basicTemplate } from './basic.ts';
import { supportTemplate } from './support.ts';

export interface TemplateFile {
  /** Path relative to the project directory. */
  path: string;
  content: string;
  /** Skipped (not an error) when the file already exists, e.g. a project's own .gitignore. */
  optional?: boolean;
}

export interface Template {
  name: string;
  description: string;
  /** Files of a starter project for package `pkg`, served on `port`. */
  files(pkg: string, port: number): TemplateFile[];
  /** The agent the next-steps text invokes. */
  agent: string;
  /** The default port of its `deploy "local" target "process"` block. */
  port: number;
  /** The spec file the next-steps text names. */
  spec: string;
}

export const TEMPLATES: readonly Template[] = [basicTemplate, supportTemplate];

export function findTemplate(name: string): Template | undefined {
  return TEMPLATES.find((t) => t.name === name);
}
