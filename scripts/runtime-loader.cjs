'use strict';
// dist/runtime.cjs, what the process adapter starts a runtime from: runs dist/runtime-bundle.cjs
// (the CLI bundled into one file) with V8's code cache for it, dist/runtime-bundle.cache, which the
// build wrote after a warm-up start. Compiling the bundle's functions is most of what is left of a
// runtime's cold start; with the cache they are read instead. A cache V8 rejects (another Node
// version) costs nothing but the compile it would have saved. Written as CommonJS by hand, not
// compiled from src/: it is the one file that runs before any of ours.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire, wrap } = require('node:module');

const bundle = path.join(__dirname, 'runtime-bundle.cjs');
const cacheFile = path.join(__dirname, 'runtime-bundle.cache');
// A script compiled through vm needs this to keep import() (Node >= 20.12); without it the bundle
// is required the plain way.
const dynamicImport = vm.constants === undefined ? undefined : vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER;
// Set by the build's warm-up start: where to write the cache once this process has run.
const cacheOut = process.env.AGENTSPEC_CODE_CACHE_OUT;
delete process.env.AGENTSPEC_CODE_CACHE_OUT;

function readCache() {
  try {
    return fs.readFileSync(cacheFile);
  } catch (err) {
    // No cache (a build without the warm-up) only makes the start slower; anything else is said.
    if (err.code !== 'ENOENT') process.stderr.write(`agentspec: the runtime's code cache ${cacheFile} could not be read (${err.message}); compiling instead\n`);
    return undefined;
  }
}

if (dynamicImport === undefined) {
  require(bundle);
} else {
  const cachedData = cacheOut === undefined ? readCache() : undefined;
  const script = new vm.Script(wrap(fs.readFileSync(bundle, 'utf8')), { filename: bundle, cachedData, importModuleDynamically: dynamicImport });
  if (cacheOut !== undefined) {
    // At exit the cache holds every function the run compiled, not only the top level.
    process.once('exit', () => fs.writeFileSync(cacheOut, script.createCachedData()));
  }
  const bundleModule = { exports: {}, filename: bundle, id: bundle };
  script.runInThisContext().call(bundleModule.exports, bundleModule.exports, createRequire(bundle), bundleModule, bundle, __dirname);
}
