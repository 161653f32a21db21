import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StateFormatError, emptyState, parseState, serializeState, type State, type StateEntry } from '../../src/state/index.ts';

const entryArb: fc.Arbitrary<StateEntry> = fc.record(
  {
    fqn: fc.string({ minLength: 1, maxLength: 20 }),
    hash: fc.string(),
    status: fc.constantFrom('applied' as const, 'failed' as const, 'pending' as const),
    last_applied: fc.string(),
    adapter: fc.string(),
    error: fc.string(),
    runtime: fc.record({ pid: fc.nat(), port: fc.integer({ min: 0, max: 65535 }), endpoint: fc.string(), started_at: fc.string() }),
  },
  { requiredKeys: ['fqn', 'hash', 'status', 'last_applied', 'adapter'] },
);

const stateArb: fc.Arbitrary<State> = fc.record({
  version: fc.constant('1.0'),
  serial: fc.nat(),
  lineage: fc.uuid(),
  entries: fc.uniqueArray(entryArb, { selector: (e) => e.fqn, maxLength: 30 }),
});

test('serialize then parse gives the same state, and serializing again gives the same bytes', () => {
  fc.assert(
    fc.property(stateArb, (s) => {
      const text = serializeState(s);
      const back = parseState(text);
      assert.equal(back.legacy, false);
      assert.equal(serializeState(back.state), text);
      assert.equal(back.state.serial, s.serial);
      assert.equal(back.state.entries.length, s.entries.length);
    }),
  );
});

test('shuffled entries serialize to the same bytes', () => {
  fc.assert(
    fc.property(stateArb, fc.infiniteStream(fc.nat()), (s, rnd) => {
      const shuffled = s.entries.map((e) => [rnd.next().value, e] as const).sort((a, b) => a[0] - b[0]).map(([, e]) => e);
      assert.equal(serializeState({ ...s, entries: shuffled }), serializeState(s));
    }),
  );
});

test('valid JSON of the wrong shape is corruption', () => {
  for (const text of ['[]', '{}', 'null', '{"version":"1.0"}', '{"version":"1.0","entries":[{"fqn":"a"}]}', '{"version":"1.0","serial":-1,"lineage":"x","entries":[]}',
    '{"version":"1.0","entries":[{"fqn":"a","hash":"h","status":"","last_applied":"t","adapter":"p"}]}']) {
    assert.throws(() => parseState(text), (err: unknown) => err instanceof StateFormatError && err.kind === 'schema', text);
  }
  assert.throws(() => parseState('{"version":'), (err: unknown) => err instanceof StateFormatError && err.kind === 'syntax');
});

test('a schema error names the first offending field', () => {
  const text = '{"version":"1.0","entries":[{"fqn":"a","hash":"h","status":"applied","last_applied":"t","adapter":"p"},{"fqn":"b","hash":7}]}';
  assert.throws(() => parseState(text), (err: unknown) => err instanceof StateFormatError && err.field === 'entries[1].hash');
});

test('the original agentspec\'s "entries": null and unknown statuses (orphaned) load and are kept', () => {
  assert.deepEqual(parseState('{"version":"1.0","entries":null}').state.entries, []);
  const orphan = { fqn: 'a/Agent/x', hash: 'h', status: 'orphaned', last_applied: 't', adapter: 'process' };
  const r = parseState(JSON.stringify({ version: '1.0', entries: [orphan] }));
  assert.deepEqual(r.state.entries, [orphan]);
  assert.match(serializeState(r.state), /"status": "orphaned"/);
});

test('duplicate FQNs are corruption', () => {
  const e = { fqn: 'a/Agent/x', hash: 'h', status: 'applied', last_applied: 't', adapter: 'p' };
  assert.throws(() => parseState(JSON.stringify({ version: '1.0', serial: 1, lineage: 'l', entries: [e, e] })), /appears twice/);
});

test('the original format (no serial, no lineage) parses as serial 0 and is marked legacy', () => {
  const r = parseState('{"version":"1.0","entries":[]}');
  assert.equal(r.legacy, true);
  assert.equal(r.state.serial, 0);
  assert.ok(r.state.lineage.length > 0);
  assert.equal(serializeState(emptyState('l')), '{\n  "version": "1.0",\n  "serial": 0,\n  "lineage": "l",\n  "entries": []\n}\n');
});

test('the fast entry check used by save() accepts exactly what the schema accepts', async () => {
  const { entriesLookValid, entriesSchema } = await import('../../src/state/format.ts');
  const value = fc.oneof(fc.string(), fc.integer({ min: -2, max: 70_000 }), fc.double(), fc.constant(undefined), fc.constant(null), fc.boolean(), fc.constant([]), fc.constant({}));
  const messy = fc.record(
    {
      fqn: fc.oneof(fc.string({ maxLength: 3 }), value),
      hash: fc.oneof(fc.string(), value),
      status: fc.oneof(fc.constantFrom('applied', 'failed', 'pending', 'gone'), value),
      last_applied: fc.oneof(fc.string(), value),
      adapter: fc.oneof(fc.string(), value),
      error: fc.oneof(fc.string(), value),
      runtime: fc.oneof(
        value,
        fc.record(
          { pid: fc.oneof(fc.nat(), value), port: fc.oneof(fc.integer({ min: -1, max: 70_000 }), value), endpoint: fc.oneof(fc.string(), value), started_at: fc.oneof(fc.string(), value) },
          { requiredKeys: [] },
        ),
      ),
      extra: value,
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.array(fc.oneof(messy, entryArb, value), { maxLength: 4 }), (entries) => {
      assert.equal(entriesLookValid(entries), entriesSchema.safeParse(entries).success, JSON.stringify(entries));
    }),
    { numRuns: 5000 },
  );
});
