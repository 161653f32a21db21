import type { AgentStmt, KvBlock, OnInputStmt } from '../lang/ast.ts';
import { recordOf, setOwn } from './json.ts';
import type { Attributes, JsonValue } from './types.ts';

/** Lowered value of a threshold nobody wrote (REFERENCE 2.4); it is then left out of the IR. */
const DEFAULT_THRESHOLD = 0.8;

/** Strategy spellings we accept besides the canonical ones (see REFERENCE "Decisions"). */
const STRATEGY_ALIASES: Record<string, string> = { 'plan-execute': 'plan-and-execute' };

export function canonicalStrategy(strategy: string): string {
  return STRATEGY_ALIASES[strategy] ?? strategy;
}

export function lowerOnInput(stmts: OnInputStmt[]): JsonValue[] {
  return stmts.map((s): JsonValue => {
    switch (s.kind) {
      case 'use': {
        const out: { [k: string]: JsonValue } = { type: 'use_skill', skill: s.skill };
        if (s.with !== undefined && s.with.params.length > 0) {
          const params: Record<string, string> = {};
          for (const p of s.with.params) setOwn(params, p.key, p.value);
          out.params = params;
        }
        return out;
      }
      case 'delegate':
        return { type: 'delegate', agent: s.agent };
      case 'respond':
        return { type: 'respond', expression: s.expression };
      case 'if': {
        const out: { [k: string]: JsonValue } = { type: 'if', condition: s.condition, body: lowerOnInput(s.body) };
        if (s.elseIfs.length > 0) {
          out.else_ifs = s.elseIfs.map((e) => ({ condition: e.condition, body: lowerOnInput(e.body) }));
        }
        if (s.elseBody !== undefined && s.elseBody.length > 0) out.else_body = lowerOnInput(s.elseBody);
        return out;
      }
      case 'for_each':
        return { type: 'for_each', variable: s.variable, collection: s.collection, body: lowerOnInput(s.body) };
    }
  });
}

/** Attributes and references of an agent (REFERENCE 3.2, 3.3). */
export function lowerAgent(a: AgentStmt, fqn: (kind: string, name: string) => string): { attributes: Attributes; references: string[] } {
  const attrs: Attributes = { model: a.model?.value ?? '' };
  const refs: string[] = [];
  if (a.prompt !== undefined) {
    attrs.prompt = a.prompt.value;
    refs.push(fqn('Prompt', a.prompt.value));
  }
  if (a.skills.length > 0) {
    attrs.skills = a.skills.map((s) => s.value);
    for (const s of a.skills) refs.push(fqn('Skill', s.value));
  }
  if (a.client !== undefined) {
    attrs.client = a.client.value;
    refs.push(fqn('MCPClient', a.client.value));
  }
  if (a.strategy !== undefined && a.strategy.value !== '') attrs.strategy = canonicalStrategy(a.strategy.value);
  if (a.maxTurns !== undefined && a.maxTurns.value > 0) attrs.max_turns = a.maxTurns.value;
  if (a.timeout !== undefined && a.timeout.value !== '') attrs.timeout = a.timeout.value;
  if (a.tokenBudget !== undefined && a.tokenBudget.value > 0) attrs.token_budget = a.tokenBudget.value;
  if (a.temperature !== undefined) attrs.temperature = a.temperature.value;
  if (a.stream !== undefined) attrs.stream = a.stream.value;
  if (a.onError !== undefined && a.onError.value !== '') attrs.on_error = a.onError.value;
  if (a.maxRetries !== undefined && a.maxRetries.value > 0) attrs.max_retries = a.maxRetries.value;
  if (a.fallback !== undefined && a.fallback.value !== '') {
    attrs.fallback = a.fallback.value;
    refs.push(fqn('Agent', a.fallback.value));
  }
  // Absent unless written, so that specs without it lower and hash exactly as before.
  if (a.onBusy !== undefined && a.onBusy.value !== '') attrs.on_busy = a.onBusy.value;
  if (a.memory !== undefined) {
    const mem: { [k: string]: JsonValue } = {};
    if (a.memory.strategy !== undefined && a.memory.strategy.value !== '') mem.strategy = a.memory.strategy.value;
    if (a.memory.maxMessages !== undefined && a.memory.maxMessages.value > 0) mem.max_messages = a.memory.maxMessages.value;
    attrs.memory = mem;
  }
  if (a.delegates.length > 0) {
    attrs.delegates = a.delegates.map((d) => ({ agent: d.agent, condition: d.when?.value ?? '' }));
    for (const d of a.delegates) refs.push(fqn('Agent', d.agent));
  }
  if (a.config !== undefined && a.config.params.length > 0) {
    attrs.config_params = a.config.params.map((p) => {
      const out: { [k: string]: JsonValue } = { name: p.name, type: p.type };
      if (p.description !== undefined && p.description.value !== '') out.description = p.description.value;
      if (p.required) out.required = true;
      if (p.secret) out.secret = true;
      if (p.hasDefault) out.default = p.default ?? '';
      return out;
    });
  }
  if (a.validate !== undefined && a.validate.rules.length > 0) {
    attrs.validation_rules = a.validate.rules.map((r) => {
      const out: { [k: string]: JsonValue } = { name: r.name, severity: r.severity, expression: r.when?.value ?? '' };
      if (r.maxRetries !== undefined && r.maxRetries.value > 0) out.max_retries = r.maxRetries.value;
      if (r.message !== undefined && r.message.value !== '') out.message = r.message.value;
      return out;
    });
  }
  if (a.eval !== undefined && a.eval.cases.length > 0) {
    attrs.eval_cases = a.eval.cases.map((c) => {
      const out: { [k: string]: JsonValue } = { name: c.name, input: c.input?.value ?? '', expected: c.expect?.value ?? '' };
      if (c.scoring !== undefined && c.scoring.value !== '') out.scoring = c.scoring.value;
      const threshold = c.threshold?.value ?? DEFAULT_THRESHOLD;
      if (threshold !== DEFAULT_THRESHOLD) out.threshold = threshold;
      if (c.tags !== undefined && c.tags.value.length > 0) out.tags = [...c.tags.value];
      return out;
    });
  }
  if (a.onInput !== undefined) attrs.on_input = lowerOnInput(a.onInput.body);
  return { attributes: attrs, references: refs };
}

/** Metadata of a resource, or undefined when none was written. */
export function lowerMetadata(block: KvBlock | undefined): Record<string, string> | undefined {
  const record = recordOf(block);
  return Object.keys(record).length > 0 ? record : undefined;
}
