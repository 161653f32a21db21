#!/usr/bin/env node
// The shipped CLI runs the compiled JavaScript in dist/ (built by `npm run build`, which `npm ci`,
// `npm pack` and `npm test` run first).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
