import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startMcp } from '../../../src/tools/mcp/index.ts';
import { compile, ctx, FILESYSTEM, NODE, q, tempDir } from './helpers.ts';

test('server-filesystem over stdio on a temp dir: read, write, list; a path outside is a tool error', async () => {
  const spec = await tempDir('mcp-fs-spec');
  const root = await tempDir('mcp-fs-root');
  const outside = await tempDir('mcp-fs-outside');
  await mkdir(path.join(root.dir, 'docs'));
  await writeFile(path.join(root.dir, 'docs', 'note.txt'), 'remember the milk\n');
  await writeFile(path.join(outside.dir, 'secret.txt'), 'not for you\n');
  const docs = await compile(
    spec.dir,
    `package "t" version "0.1.0" lang "2.0"
prompt "p" {
  content "x"
}
server "files" {
  transport "stdio"
  command ${q(NODE)}
  args [${q(FILESYSTEM)}, ${q(root.dir)}]
}
skill "read-file" {
  description "Read a text file"
  input {
    path string required
  }
  output {
    content string
  }
  tool mcp "files/read_text_file"
}
skill "write-file" {
  description "Write a file"
  input {
    path string required
    content string required
  }
  output {
    result string
  }
  tool mcp "files/write_file"
}
skill "list" {
  description "List a directory"
  input {
    path string required
  }
  output {
    entries string
  }
  tool mcp "files/list_directory"
}
agent "bot" {
  uses prompt "p"
  uses skill "read-file"
  uses skill "write-file"
  uses skill "list"
  model "echo"
}
`,
  );
  const pool = await startMcp(docs, { secrets: new Map() });
  try {
    const read = pool.toolFor('read-file', 'files', 'read_text_file');
    const write = pool.toolFor('write-file', 'files', 'write_file');
    const list = pool.toolFor('list', 'files', 'list_directory');

    const note = await read.call({ path: path.join(root.dir, 'docs', 'note.txt') }, ctx());
    assert.deepEqual(note, { content: 'remember the milk\n', is_error: false, truncated: false, bytes: 18 });

    const target = path.join(root.dir, 'docs', 'new.txt');
    const wrote = await write.call({ path: target, content: 'written through MCP' }, ctx());
    assert.equal(wrote.is_error, false, wrote.content);
    assert.equal(await readFile(target, 'utf8'), 'written through MCP');

    const listing = await list.call({ path: path.join(root.dir, 'docs') }, ctx());
    assert.equal(listing.is_error, false);
    assert.match(listing.content, /\[FILE\] new\.txt/);
    assert.match(listing.content, /\[FILE\] note\.txt/);

    const denied = await read.call({ path: path.join(outside.dir, 'secret.txt') }, ctx());
    assert.equal(denied.is_error, true);
    assert.match(denied.content, /denied|outside allowed/i);
    assert.ok(!denied.content.includes('not for you'));

    const bad = await read.call({ path: 7 }, ctx());
    assert.equal(bad.is_error, true);
    assert.match(bad.content, /input\/path must be string/);
  } finally {
    await pool.close();
    await Promise.all([spec.cleanup(), root.cleanup(), outside.cleanup()]);
  }
});
