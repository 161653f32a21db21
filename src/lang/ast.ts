/**
 * Typed syntax tree of an IntentLang file (REFERENCE.md section 2, including the [3.0] items).
 *
 * Conventions every consumer can rely on:
 * - Positions are 1-based; columns count runes (a tab is 1).
 * - `pos` of a node is the position of its first token (for an attribute: its keyword).
 * - A scalar attribute that was not written is `undefined`. When an attribute is written more
 *   than once, the last occurrence wins (its value AND its positions), as in the grammar.
 * - `afterPos` is the position of the token that follows the value (often the end-of-line
 *   Newline token, or `}`/EOF). Semantic "not found" errors are reported there.
 * - Values are kept as the user wrote them (no canonicalisation): `plan-execute` stays
 *   `plan-execute`, `loop` is recorded as such. Lowering decides what to do with them.
 * - The parser never puts a duplicate named statement (same kind, same name) into
 *   `File.statements`: it reports it and drops it, so lowering never sees two resources with
 *   one FQN.
 */

export interface Pos {
  line: number;
  column: number;
}

/** A comment as written, collected by the lexer (comments are not grammar tokens). */
export interface Comment {
  pos: Pos;
  /** Including the leading `#` or `//`, without the line end. */
  text: string;
  /** True when code precedes it on the same line. */
  trailing: boolean;
}

/**
 * One written attribute. `pos` = the attribute keyword (for entries without a keyword, the
 * first token), `valuePos` = the value token, `afterPos` = the token after the value.
 */
export interface Attr<T> {
  value: T;
  pos: Pos;
  valuePos: Pos;
  afterPos: Pos;
}

/** A number attribute: `value` is the converted number, `text` the literal as written. */
export interface NumAttr extends Attr<number> {
  text: string;
}

/** One `key value` line of a map-like block (metadata, env, headers, secrets, binding config). */
export interface KvEntry {
  pos: Pos;
  key: string;
  value: string;
  valuePos: Pos;
}

/**
 * A map-like block `{ key value ... }`. Repeatable blocks that merge (metadata, deploy env,
 * ...) are collected into ONE KvBlock whose entries are appended in source order (`pos` is
 * the first block's keyword). When a key repeats, the last entry wins (see `kvRecord`).
 * Blocks that REPLACE (tool headers/env/secrets) keep only the last block.
 */
export interface KvBlock {
  pos: Pos;
  endLine: number;
  entries: KvEntry[];
}

/** Flatten a KvBlock into a record, last entry winning. */
export function kvRecord(block: KvBlock | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (block === undefined) return out;
  for (const e of block.entries) out[e.key] = e.value;
  return out;
}

/** `package "n" version "v" lang "l"` (one line, any order after the name). */
export interface Header {
  pos: Pos;
  endLine: number;
  name: string;
  namePos: Pos;
  version?: Attr<string>;
  lang?: Attr<string>;
}

export interface File {
  /** The path as given by the caller (used in diagnostics). */
  path: string;
  /** Undefined when the file does not start with `package` (a parse error is reported). */
  header?: Header;
  statements: Statement[];
  comments: Comment[];
}

export type Statement =
  | ImportStmt
  | PluginStmt
  | PromptStmt
  | SkillStmt
  | AgentStmt
  | SecretStmt
  | EnvironmentStmt
  | PolicyStmt
  | BindingStmt
  | DeployStmt
  | ServerStmt
  | ClientStmt
  | PipelineStmt
  | TypeStmt;

export type StatementKind = Statement['kind'];

/** Statements that declare a named resource (all except import). */
export type NamedStatement = Exclude<Statement, ImportStmt>;

interface StmtBase {
  /** Position of the statement keyword. */
  pos: Pos;
  /** Line of the closing `}` (or of the last token for bodiless statements). */
  endLine: number;
}

interface NamedStmtBase extends StmtBase {
  name: string;
  /** Position of the name token. */
  namePos: Pos;
  /** Position of the token after the name (usually `{`): where duplicates are reported. */
  nameEndPos: Pos;
}

// ---------------------------------------------------------------------------------------------
// import / plugin

export interface ImportStmt extends StmtBase {
  kind: 'import';
  path: string;
  pathPos: Pos;
  /** Token after the path string. */
  pathEndPos: Pos;
  version?: Attr<string>;
  /** [3.0] `as NAME`: recorded, never applied to names. */
  alias?: Attr<string>;
}

export interface PluginStmt extends NamedStmtBase {
  kind: 'plugin';
  version?: Attr<string>;
}

// ---------------------------------------------------------------------------------------------
// prompt

/** A `variables` entry or a `type { }` field: name, type, then `required` / `default STRING`. */
export interface ModField {
  /** Position of the name token. */
  pos: Pos;
  name: string;
  type: string;
  typePos: Pos;
  required: boolean;
  /** Last `default` written (undefined when none). */
  default?: string;
}

export interface VariablesBlock {
  pos: Pos;
  endLine: number;
  /** Entries of every `variables` block of the prompt, in source order. */
  entries: ModField[];
}

export interface PromptStmt extends NamedStmtBase {
  kind: 'prompt';
  content?: Attr<string>;
  version?: Attr<string>;
  variables?: VariablesBlock;
  metadata?: KvBlock;
}

// ---------------------------------------------------------------------------------------------
// skill

/** An `input`/`output` field: `name type [required]`. */
export interface Field {
  pos: Pos;
  name: string;
  type: string;
  typePos: Pos;
  required: boolean;
}

export interface FieldBlock {
  /** Position of the `input` / `output` keyword. */
  pos: Pos;
  endLine: number;
  fields: Field[];
}

interface ToolBase {
  /** Position of the `tool` keyword. */
  pos: Pos;
  /** Position of the word after `tool` (invalid tool type and `tool mcp` errors go here). */
  typePos: Pos;
  /** The word after `tool`, as written. */
  typeWord: string;
  endLine: number;
}

export interface McpTool extends ToolBase {
  type: 'mcp';
  /** `"server/tool"`. `pos` of the Attr is the `mcp` word. */
  serverTool: Attr<string>;
}

export interface HttpTool extends ToolBase {
  type: 'http';
  method?: Attr<string>;
  url?: Attr<string>;
  headers?: KvBlock;
  bodyTemplate?: Attr<string>;
  timeout?: Attr<string>;
}

export interface CommandTool extends ToolBase {
  type: 'command';
  binary?: Attr<string>;
  args?: Attr<string[]>;
  timeout?: Attr<string>;
  env?: KvBlock;
  secrets?: KvBlock;
}

export interface InlineTool extends ToolBase {
  type: 'inline';
  language?: Attr<string>;
  code?: Attr<string>;
  timeout?: Attr<string>;
  /** `memory` = memory limit (lowered as `memory_limit`). */
  memory?: Attr<string>;
}

/** Any other word after `tool`: a parse error was reported; the tool type is "". */
export interface InvalidTool extends ToolBase {
  type: '';
}

export type Tool = McpTool | HttpTool | CommandTool | InlineTool | InvalidTool;

/** Legacy 1.0 `execution KIND "value"`. */
export interface Execution {
  pos: Pos;
  kindWord: string;
  kindPos: Pos;
  value: string;
  valuePos: Pos;
}

export interface SkillStmt extends NamedStmtBase {
  kind: 'skill';
  description?: Attr<string>;
  input?: FieldBlock;
  output?: FieldBlock;
  /** Last `tool` written. */
  tool?: Tool;
  execution?: Execution;
  metadata?: KvBlock;
}

// ---------------------------------------------------------------------------------------------
// agent

export interface PromptRef extends Attr<string> {
  /** `uses prompt "x"` or the [3.0] shorthand `prompt x` (the formatter prints `uses prompt`). */
  form: 'uses' | 'shorthand';
}

export interface StrategyAttr extends Attr<string> {
  /** `loop` is the [3.0] alias keyword of `strategy`. */
  keyword: 'strategy' | 'loop';
}

export interface MemoryBlock {
  pos: Pos;
  endLine: number;
  strategy?: Attr<string>;
  maxMessages?: NumAttr;
}

export interface Delegate {
  /** Position of the `delegate` keyword. */
  pos: Pos;
  /** Position of the token after `delegate` (the `to` token when written): errors go here. */
  toPos: Pos;
  hasTo: boolean;
  hasAgentKeyword: boolean;
  agent: string;
  agentPos: Pos;
  /** Token after the agent name. */
  agentEndPos: Pos;
  when?: Attr<string>;
}

/** [3.0] `config { name type modifiers... ["description"] }` entry. */
export interface ConfigParam {
  /** Position of the name token. */
  pos: Pos;
  name: string;
  type: string;
  typePos: Pos;
  required: boolean;
  secret: boolean;
  /** Tracked separately from `default`: `default ""` still counts as a default. */
  hasDefault: boolean;
  /** Text of the default (Number/BOOL stored as their text, e.g. "2000", "false"). */
  default?: string;
  /** Which token kind gave the default. */
  defaultToken?: 'string' | 'number' | 'bool' | 'name';
  description?: Attr<string>;
}

export interface ConfigBlock {
  pos: Pos;
  endLine: number;
  /** Params of every `config` block of the agent, in source order. */
  params: ConfigParam[];
}

/** [3.0] `rule NAME SEVERITY [max_retries INT] ["message"] [when EXPR]`. */
export interface ValidationRule {
  /** Position of the `rule` keyword. */
  pos: Pos;
  name: string;
  namePos: Pos;
  severity: string;
  severityPos: Pos;
  maxRetries?: NumAttr;
  message?: Attr<string>;
  /** Expression text rebuilt per REFERENCE 2.6 (undefined when `when` was not written). */
  when?: Attr<string>;
  /** The same expression written so that it lexes back to the same tokens (string tokens escaped); see `ExprSource`. */
  whenSource?: ExprSource;
  endLine: number;
}

export interface ValidateBlock {
  pos: Pos;
  endLine: number;
  rules: ValidationRule[];
}

/** [3.0] `case NAME { input STRING | expect STRING | scoring NAME [threshold FLOAT] | tags strlist }`. */
export interface EvalCase {
  /** Position of the `case` keyword. */
  pos: Pos;
  name: string;
  namePos: Pos;
  input?: Attr<string>;
  expect?: Attr<string>;
  scoring?: Attr<string>;
  /** Undefined when not written (lowering applies the 0.8 default). */
  threshold?: NumAttr;
  tags?: Attr<string[]>;
  endLine: number;
}

export interface EvalBlock {
  pos: Pos;
  endLine: number;
  cases: EvalCase[];
}

/** [3.0] `on input { ... }`. */
export interface OnInputBlock {
  /** Position of the `on` keyword. */
  pos: Pos;
  endLine: number;
  body: OnInputStmt[];
}

export type OnInputStmt = UseStmt | DelegateStmt | RespondStmt | IfStmt | ForEachStmt;

/**
 * An EXPR rebuilt like its text (REFERENCE 2.6) except that string tokens are written escaped
 * (`\\`, `\"`, newline as `\n`, tab as `\t`), so printing it and parsing again gives the same
 * text. The plain text is lossy for strings holding a quote or a backslash: `"a\"b"` rebuilds as
 * `"a"b"`, which no longer lexes.
 */
export type ExprSource = string;

export interface UseParam {
  pos: Pos;
  key: string;
  /** Expression text rebuilt per REFERENCE 2.6. */
  value: string;
  valuePos: Pos;
  /** The same expression written so that it lexes back to the same tokens (string tokens escaped); see `ExprSource`. */
  valueSource?: ExprSource;
}

export interface UseStmt {
  kind: 'use';
  /** Position of the `use` keyword (errors go here). */
  pos: Pos;
  endLine: number;
  hasSkillKeyword: boolean;
  skill: string;
  skillPos: Pos;
  /** `with { k: EXPR, ... }` when written. */
  with?: { pos: Pos; endLine: number; params: UseParam[] };
}

export interface DelegateStmt {
  kind: 'delegate';
  pos: Pos;
  endLine: number;
  hasTo: boolean;
  agent: string;
  agentPos: Pos;
}

export interface RespondStmt {
  kind: 'respond';
  pos: Pos;
  endLine: number;
  /** The text (a quoted string is stored WITHOUT its quotes). */
  expression: string;
  /** True when written as one STRING token. */
  quoted: boolean;
  /** The same expression written so that it lexes back to the same tokens (string tokens escaped); see `ExprSource`. */
  expressionSource?: ExprSource;
}

export interface ElseIf {
  /** Position of the `else` keyword. */
  pos: Pos;
  condition: string;
  conditionPos: Pos;
  /** The same expression written so that it lexes back to the same tokens (string tokens escaped); see `ExprSource`. */
  conditionSource?: ExprSource;
  body: OnInputStmt[];
  endLine: number;
}

export interface IfStmt {
  kind: 'if';
  pos: Pos;
  endLine: number;
  condition: string;
  conditionPos: Pos;
  /** The same expression written so that it lexes back to the same tokens (string tokens escaped); see `ExprSource`. */
  conditionSource?: ExprSource;
  body: OnInputStmt[];
  elseIfs: ElseIf[];
  /** Position of the final `else` keyword, when written. */
  elsePos?: Pos;
  elseBody?: OnInputStmt[];
}

export interface ForEachStmt {
  kind: 'for_each';
  pos: Pos;
  endLine: number;
  hasEach: boolean;
  variable: string;
  variablePos: Pos;
  collection: string;
  collectionPos: Pos;
  /** The same expression written so that it lexes back to the same tokens (string tokens escaped); see `ExprSource`. */
  collectionSource?: ExprSource;
  body: OnInputStmt[];
}

export interface AgentStmt extends NamedStmtBase {
  kind: 'agent';
  prompt?: PromptRef;
  /** `uses skill "x"` in order (repeatable). */
  skills: Attr<string>[];
  model?: Attr<string>;
  /** `connects [to] [client] "x"`: last wins. */
  client?: Attr<string>;
  strategy?: StrategyAttr;
  maxTurns?: NumAttr;
  tokenBudget?: NumAttr;
  maxRetries?: NumAttr;
  timeout?: Attr<string>;
  onError?: Attr<string>;
  fallback?: Attr<string>;
  /** `on_busy "enqueue" | "reject" | "interrupt"`: what a message to a busy session does. */
  onBusy?: Attr<string>;
  temperature?: NumAttr;
  stream?: Attr<boolean>;
  memory?: MemoryBlock;
  delegates: Delegate[];
  metadata?: KvBlock;
  config?: ConfigBlock;
  validate?: ValidateBlock;
  eval?: EvalBlock;
  /** Statements of every `on input` block of the agent, appended in source order. */
  onInput?: OnInputBlock;
}

// ---------------------------------------------------------------------------------------------
// secret / environment / policy / binding / deploy

export interface SecretSource {
  /** Position of `env` / `store`. */
  pos: Pos;
  source: 'env' | 'store';
  key: string;
  keyPos: Pos;
  /** `env(KEY)` vs `env KEY`. */
  parenthesized: boolean;
}

export interface SecretStmt extends NamedStmtBase {
  kind: 'secret';
  /** Last entry wins. */
  source?: SecretSource;
}

export interface EnvOverrideLine {
  /** Position of the attribute token. */
  pos: Pos;
  attribute: string;
  value: string;
  valuePos: Pos;
}

/** `KIND "name" { attr value ... }` inside an environment. */
export interface EnvTarget {
  pos: Pos;
  endLine: number;
  /** The word as written (agent, prompt, skill, server, ...). */
  kindWord: string;
  name: string;
  namePos: Pos;
  attributes: EnvOverrideLine[];
}

export interface EnvironmentStmt extends NamedStmtBase {
  kind: 'environment';
  targets: EnvTarget[];
}

export interface PolicyRule {
  /** Position of the action keyword. */
  pos: Pos;
  action: 'deny' | 'allow' | 'require';
  /** Text of the first token after the action, or "". */
  resource: string;
  /** Texts of the remaining tokens joined by one space, or "". */
  subject: string;
  /** Raw token texts after the action (the formatter prints these). */
  words: string[];
}

export interface PolicyStmt extends NamedStmtBase {
  kind: 'policy';
  rules: PolicyRule[];
}

export interface BindingStmt extends NamedStmtBase {
  kind: 'binding';
  /** Last `adapter` written (header or body). */
  adapter?: Attr<string>;
  /** Bare `default` is true (then valuePos === pos). */
  default?: Attr<boolean>;
  /** Every other `key value` pair, in source order (last wins on repeat). */
  config: KvEntry[];
}

export interface ResourcesBlock {
  pos: Pos;
  endLine: number;
  cpu?: Attr<string>;
  memory?: Attr<string>;
}

export interface HealthBlock {
  pos: Pos;
  endLine: number;
  path?: Attr<string>;
  interval?: Attr<string>;
  timeout?: Attr<string>;
}

export interface AutoscaleBlock {
  pos: Pos;
  endLine: number;
  min?: NumAttr;
  max?: NumAttr;
  metric?: Attr<string>;
  target?: NumAttr;
}

export interface DeployStmt extends NamedStmtBase {
  kind: 'deploy';
  /** `target "t"` on the header line; undefined when missing (a parse error is reported). */
  target?: Attr<string>;
  port?: NumAttr;
  default?: Attr<boolean>;
  namespace?: Attr<string>;
  replicas?: NumAttr;
  image?: Attr<string>;
  resources?: ResourcesBlock;
  health?: HealthBlock;
  autoscale?: AutoscaleBlock;
  /** Repeatable, maps merge. */
  env?: KvBlock;
  /** Repeatable, maps merge. */
  secrets?: KvBlock;
}

// ---------------------------------------------------------------------------------------------
// server / client / pipeline / type

export interface ServerStmt extends NamedStmtBase {
  kind: 'server';
  transport?: Attr<string>;
  command?: Attr<string>;
  args?: Attr<string[]>;
  url?: Attr<string>;
  /** Secret name. */
  auth?: Attr<string>;
  exposes: Attr<string>[];
  env?: KvBlock;
  metadata?: KvBlock;
}

export interface ClientStmt extends NamedStmtBase {
  kind: 'client';
  /** `connects [to] [server] "x"` (repeatable). */
  connects: Attr<string>[];
  metadata?: KvBlock;
}

export interface PipelineStep {
  /** Position of the `step` keyword. */
  pos: Pos;
  endLine: number;
  name: string;
  /** Position of the step's name string (step errors go here). */
  namePos: Pos;
  agent?: Attr<string>;
  input?: Attr<string>;
  output?: Attr<string>;
  when?: Attr<string>;
  dependsOn?: Attr<string[]>;
  parallel?: Attr<boolean>;
}

export interface PipelineStmt extends NamedStmtBase {
  kind: 'pipeline';
  steps: PipelineStep[];
}

export type TypeBody =
  | { form: 'enum'; pos: Pos; values: string[] }
  | { form: 'list'; pos: Pos; of: string; ofPos: Pos }
  | { form: 'fields'; pos: Pos; endLine: number; fields: ModField[] };

export interface TypeStmt extends NamedStmtBase {
  kind: 'type';
  /** Undefined when neither `{`, `enum` nor `list` followed the name (a parse error). */
  body?: TypeBody;
}

/**
 * The kind name used in duplicate-name errors ("duplicate <Kind> name"), per statement kind.
 * `import` and `plugin` are never checked for duplicates.
 */
export const DUPLICATE_KIND_NAME: Readonly<Partial<Record<StatementKind, string>>> = {
  prompt: 'Prompt',
  skill: 'Skill',
  agent: 'Agent',
  binding: 'Binding',
  secret: 'Secret',
  environment: 'Environment',
  policy: 'Policy',
  server: 'MCPServer',
  client: 'MCPClient',
  deploy: 'DeployTarget',
  type: 'Type',
  pipeline: 'Pipeline',
};
