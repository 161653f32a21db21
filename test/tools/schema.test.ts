import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaBuilder, validateAgainst } from '../../src/tools/index.ts';
import type { Resource } from '../../src/ir/types.ts';

const type = (name: string, attributes: Resource['attributes']): Resource => ({ kind: 'Type', name, fqn: `p/Type/${name}`, hash: 'sha256:t', attributes });

describe('JSON Schema from input fields, and argument validation', () => {
  const builder = new SchemaBuilder([
    type('priority', { name: 'priority', enum: ['low', 'high'] }),
    type('tags', { name: 'tags', list_of: 'string' }),
    type('address', { name: 'address', fields: [{ name: 'city', type: 'string', required: true }, { name: 'zip', type: 'int' }] }),
    type('loop', { name: 'loop', fields: [{ name: 'next', type: 'loop' }] }),
  ]);
  const schema = builder.forFields([
    { name: 'title', type: 'string', required: true },
    { name: 'count', type: 'int' },
    { name: 'ratio', type: 'float' },
    { name: 'urgent', type: 'bool' },
    { name: 'items', type: 'list' },
    { name: 'priority', type: 'priority', required: true },
    { name: 'tags', type: 'tags' },
    { name: 'address', type: 'address' },
    { name: 'chain', type: 'loop' },
  ]);

  test('scalars, lists, enums, records and required fields', () => {
    assert.deepEqual(schema, {
      type: 'object',
      properties: {
        title: { type: 'string' },
        count: { type: 'integer' },
        ratio: { type: 'number' },
        urgent: { type: 'boolean' },
        items: { type: 'array' },
        priority: { type: 'string', enum: ['low', 'high'] },
        tags: { type: 'array', items: { type: 'string' } },
        address: { type: 'object', properties: { city: { type: 'string' }, zip: { type: 'integer' } }, required: ['city'] },
        chain: { type: 'object', properties: { next: { description: 'a loop value' } } },
      },
      required: ['title', 'priority'],
    });
  });

  test('validation names the offending field', () => {
    assert.equal(validateAgainst(schema, { title: 't', priority: 'low', count: 2, ratio: 1, tags: ['a'] }), undefined);
    assert.equal(validateAgainst(schema, { priority: 'low' }), 'title: required field is missing');
    assert.equal(validateAgainst(schema, { title: 't', priority: 'urgent' }), 'priority: must be one of "low", "high"');
    assert.equal(validateAgainst(schema, { title: 't', priority: 'low', count: 1.5 }), 'count: expected integer, got number');
    assert.equal(validateAgainst(schema, { title: 't', priority: 'low', tags: ['a', 3] }), 'tags[1]: expected string, got integer');
    assert.equal(validateAgainst(schema, { title: 't', priority: 'low', address: { zip: 1 } }), 'address.city: required field is missing');
    assert.equal(validateAgainst(schema, 'just text'), 'input: expected object, got string');
  });
});
