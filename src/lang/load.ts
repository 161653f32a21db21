import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { File, ImportStmt, Statement } from './ast.ts';
import { diagnostic, diagnosticAt, type Diagnostic } from './diagnostics.ts';
import { DuplicateNames } from './duplicates.ts';
import { logger } from '../log.ts';
import { parse } from './parser.ts';

export const SPEC_EXTENSION = '.ias';

/** One root file with everything its imports brought in. */
export interface LoadedRoot {
  /** The path as the user gave it (or as found in a given directory). */
  path: string;
  absPath: string;
  /** The root file's own AST (its statements include its imports). */
  file: File;
  /** The root's statements, then every imported file's non-import statements (each file once). */
  statements: Statement[];
  /** Display path of the file each merged statement comes from (for diagnostics). */
  fileOf: Map<Statement, string>;
  /** Display paths of every file loaded for this root, root first. */
  files: string[];
  /** True when the root file itself has parse (or lexer) errors. */
  parseFailed: boolean;
  /** Parse errors of every loaded file, import resolution errors, cross-file duplicates. */
  diagnostics: Diagnostic[];
}

export interface LoadResult {
  roots: LoadedRoot[];
  /** Every diagnostic of the run (each once), files in the order loaded. */
  diagnostics: Diagnostic[];
  /** Source text per display path, for printing the offending line. */
  sources: Map<string, string>;
}

export interface LoadOptions {
  /** Base for display paths and relative inputs. Default: process.cwd(). */
  cwd?: string;
  /** Package search paths. Default: `~/.agentspec/packages`. */
  searchPaths?: string[];
  /** Optional registry resolver tried first for package imports: returns a file path or undefined. */
  resolvePackage?: (importPath: string, version: string | undefined) => Promise<string | undefined>;
}

interface ParsedFile {
  abs: string;
  display: string;
  file: File;
  diagnostics: Diagnostic[];
}

type FileKind = 'file' | 'dir' | 'other' | 'missing';

/** 'other' = exists but is neither a regular file nor a directory (a FIFO or device would hang a read). */
async function fileKind(p: string): Promise<FileKind> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return 'missing';
    }
    throw err;
  }
}

/**
 * Files are identified by their real path, so a file reached through a symlink is merged once and
 * a cycle through a symlink is seen. If it cannot be resolved, the path itself is used: reading it
 * then fails and reports why.
 */
async function identity(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch (err) {
    logger('lang').debug({ path: p, err: errText(err) }, 'realpath failed; the read reports the problem');
    return p;
  }
}

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code !== undefined ? `${e.code}: ${e.message}` : String(err);
}

/**
 * Reads, parses and resolves the imports of the given files and directories (a directory
 * stands for the `*.ias` files under it, recursively, sorted: see `listSpecFiles`). Never rejects for a problem in the
 * specs: missing files, wrong extensions, unreadable files, parse errors, missing imports and
 * import cycles are all diagnostics.
 */
export async function loadSources(paths: string[], options: LoadOptions = {}): Promise<LoadResult> {
  const loader = new Loader(options);
  return loader.load(paths);
}

class Loader {
  private readonly cwd: string;
  private readonly searchPaths: string[];
  private readonly resolvePackage: LoadOptions['resolvePackage'];
  private readonly cache = new Map<string, Promise<ParsedFile | Diagnostic>>();
  private readonly sources = new Map<string, string>();
  private absoluteDisplay = false;

  constructor(options: LoadOptions) {
    this.cwd = options.cwd ?? process.cwd();
    this.searchPaths = options.searchPaths ?? [path.join(os.homedir(), '.agentspec', 'packages')];
    this.resolvePackage = options.resolvePackage;
  }

  async load(paths: string[]): Promise<LoadResult> {
    const all: Diagnostic[] = [];
    const rootInputs: { display: string; abs: string }[] = [];
    for (const p of paths) {
      const abs = path.resolve(this.cwd, p);
      if (path.isAbsolute(p)) this.absoluteDisplay = true;
      let kind: FileKind;
      try {
        kind = await fileKind(abs);
      } catch (err) {
        all.push(diagnostic(p, 1, 1, `cannot read ${p}: ${errText(err)}`));
        continue;
      }
      if (kind === 'missing') {
        all.push(diagnostic(p, 1, 1, `file not found: ${p}`));
      } else if (kind === 'other') {
        all.push(diagnostic(p, 1, 1, `not a regular file: ${p}`));
      } else if (kind === 'dir') {
        let names: string[];
        try {
          names = (await listSpecFiles(abs)).map((f) => path.relative(abs, f));
        } catch (err) {
          all.push(diagnostic(p, 1, 1, `cannot read directory ${p}: ${errText(err)}`));
          continue;
        }
        if (names.length === 0) all.push(diagnostic(p, 1, 1, `no ${SPEC_EXTENSION} files in directory ${p}`));
        for (const n of names) rootInputs.push({ display: path.join(p, n), abs: await identity(path.join(abs, n)) });
      } else if (!abs.endsWith(SPEC_EXTENSION)) {
        all.push(
          diagnostic(p, 1, 1, `unsupported file extension ${JSON.stringify(path.extname(p))}: IntentLang files end in ${SPEC_EXTENSION}`),
        );
      } else {
        rootInputs.push({ display: p, abs: await identity(abs) });
      }
    }

    // Same file given twice (e.g. a file and its directory): load it once.
    const uniqueInputs = rootInputs.filter((r, i) => rootInputs.findIndex((o) => o.abs === r.abs) === i);
    const loaded: { root: LoadedRoot; closure: Set<string> }[] = [];
    for (const input of uniqueInputs) {
      const r = await this.loadRoot(input.display, input.abs);
      if (!isDiagnostic(r)) loaded.push(r);
      else all.push(r);
    }
    const roots = dropImportedRoots(loaded);
    for (const r of roots) all.push(...r.diagnostics);
    return { roots, diagnostics: dedupe(all), sources: this.sources };
  }

  private display(abs: string): string {
    if (this.absoluteDisplay) return abs;
    const rel = path.relative(this.cwd, abs);
    return rel === '' ? abs : rel;
  }

  /** Reads and parses a file once per run. A read failure is returned as a diagnostic. */
  private parseFile(abs: string, display: string): Promise<ParsedFile | Diagnostic> {
    let p = this.cache.get(abs);
    if (p === undefined) {
      p = (async (): Promise<ParsedFile | Diagnostic> => {
        let text: string;
        try {
          if ((await fileKind(abs)) !== 'file') return diagnostic(display, 1, 1, `not a regular file: ${display}`);
          text = await readFile(abs, 'utf8');
        } catch (err) {
          return diagnostic(display, 1, 1, `cannot read ${display}: ${errText(err)}`);
        }
        if (text.startsWith('\uFEFF')) text = text.slice(1);
        this.sources.set(display, text);
        const r = parse(text, display);
        return { abs, display, file: r.file, diagnostics: r.diagnostics };
      })();
      this.cache.set(abs, p);
    }
    return p;
  }

  private async loadRoot(display: string, abs: string): Promise<{ root: LoadedRoot; closure: Set<string> } | Diagnostic> {
    const parsed = await this.parseFile(abs, display);
    if (isDiagnostic(parsed)) return parsed;
    const root: LoadedRoot = {
      path: display,
      absPath: abs,
      file: parsed.file,
      statements: [],
      fileOf: new Map(),
      files: [parsed.display],
      parseFailed: parsed.diagnostics.length > 0,
      diagnostics: [...parsed.diagnostics],
    };
    const names = new DuplicateNames();
    for (const s of parsed.file.statements) {
      names.check(s, parsed.display);
      root.statements.push(s);
      root.fileOf.set(s, parsed.display);
    }
    const included = new Set<string>([abs]);
    await this.mergeImports(root, parsed, [parsed], included, names);
    return { root, closure: included };
  }

  /** Depth-first: each import's own imports are merged right after its statements. */
  private async mergeImports(
    root: LoadedRoot,
    from: ParsedFile,
    stack: ParsedFile[],
    included: Set<string>,
    names: DuplicateNames,
  ): Promise<void> {
    for (const stmt of from.file.statements) {
      if (stmt.kind !== 'import') continue;
      const found = await this.resolveImport(stmt, from);
      if (typeof found !== 'string') {
        root.diagnostics.push(found);
        continue;
      }
      const resolved = await identity(found);
      const onStack = stack.findIndex((f) => f.abs === resolved);
      if (onStack >= 0) {
        const cycle = [...stack.slice(onStack), stack[onStack] as ParsedFile].map((f) => f.display);
        root.diagnostics.push(diagnosticAt(from.display, stmt.pos, `import cycle: ${cycle.join(' -> ')}`, 'remove one of these imports'));
        continue;
      }
      if (included.has(resolved)) continue;
      included.add(resolved);
      const parsed = await this.parseFile(resolved, this.display(found));
      if (isDiagnostic(parsed)) {
        root.diagnostics.push(diagnosticAt(from.display, stmt.pos, parsed.message));
        continue;
      }
      root.files.push(parsed.display);
      root.diagnostics.push(...parsed.diagnostics);
      for (const s of parsed.file.statements) {
        if (s.kind === 'import') continue;
        const dup = names.check(s, parsed.display);
        if (dup !== undefined) {
          root.diagnostics.push(dup);
          continue;
        }
        root.statements.push(s);
        root.fileOf.set(s, parsed.display);
      }
      await this.mergeImports(root, parsed, [...stack, parsed], included, names);
    }
  }

  /** REFERENCE 3.6 resolution. Returns the absolute path, or a diagnostic at the import. */
  private async resolveImport(stmt: ImportStmt, from: ParsedFile): Promise<string | Diagnostic> {
    const p = stmt.path;
    const fail = (message: string, hint?: string): Diagnostic => diagnosticAt(from.display, stmt.pos, message, hint);
    if (p === '') return fail('import path is empty');
    try {
      const relativeForm = p.startsWith('./') || p.startsWith('../');
      const local = relativeForm || p.endsWith(SPEC_EXTENSION) || !(p.includes('/') && p.includes('.'));
      if (local) {
        const joined = path.resolve(path.dirname(from.abs), p);
        if ((await fileKind(joined + SPEC_EXTENSION)) === 'file') return joined + SPEC_EXTENSION;
        if (relativeForm && (await fileKind(path.join(joined, 'index' + SPEC_EXTENSION))) === 'file') {
          return path.join(joined, 'index' + SPEC_EXTENSION);
        }
        const kind = await fileKind(joined);
        if (kind === 'file') return joined;
        if (kind === 'other') return fail(`import ${JSON.stringify(p)}: not a regular file: ${this.display(joined)}`);
        if (kind === 'dir') return fail(`import ${JSON.stringify(p)}: ${this.display(joined)} is a directory without index${SPEC_EXTENSION}`);
        return fail(`import ${JSON.stringify(p)}: file not found: ${this.display(joined)}`);
      }
      const version = stmt.version?.value;
      if (this.resolvePackage !== undefined) {
        const viaRegistry = await this.resolvePackage(p, version);
        if (viaRegistry !== undefined) return path.resolve(viaRegistry);
      }
      const tried: string[] = [];
      for (const dir of this.searchPaths) {
        const bases = version !== undefined && version !== '' ? [`${p}@${version}`, p] : [p];
        for (const base of bases) {
          for (const entry of ['main', 'index']) {
            const candidate = path.join(dir, base, entry + SPEC_EXTENSION);
            tried.push(candidate);
            if ((await fileKind(candidate)) === 'file') return candidate;
          }
        }
      }
      return fail(
        `import ${JSON.stringify(p)}: package not found`,
        `looked for ${tried.join(', ')}`,
      );
    } catch (err) {
      return fail(`import ${JSON.stringify(p)}: cannot resolve: ${errText(err)}`);
    }
  }
}

/**
 * A root that another kept root imports is not a root of its own (a directory holding main.ias
 * and the lib.ias it imports yields one root). Earlier roots win when two import each other.
 */
function dropImportedRoots(loaded: { root: LoadedRoot; closure: Set<string> }[]): LoadedRoot[] {
  const rootPaths = new Set(loaded.map((l) => l.root.absPath));
  const dropped = new Set<string>();
  for (const { root, closure } of loaded) {
    if (dropped.has(root.absPath)) continue;
    for (const f of closure) {
      if (f !== root.absPath && rootPaths.has(f)) dropped.add(f);
    }
  }
  return loaded.filter((l) => !dropped.has(l.root.absPath)).map((l) => l.root);
}

function isDiagnostic(x: object): x is Diagnostic {
  return 'severity' in x;
}

function dedupe(diags: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => {
    const key = `${d.file}\0${d.line}\0${d.column}\0${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Folders a directory walk never enters: agentspec's own data, VCS metadata, dependencies. */
function skippedDir(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

/**
 * The `*.ias` files under `dir`, recursively (hidden folders and node_modules left out), as paths
 * joined onto `dir`, sorted by path so the order is the same on every machine.
 */
export async function listSpecFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (!skippedDir(e.name)) await walk(p);
      } else if (e.name.endsWith(SPEC_EXTENSION)) {
        out.push(p);
      }
    }
  };
  await walk(dir);
  return out.sort();
}
