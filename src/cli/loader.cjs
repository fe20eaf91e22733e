#!/usr/bin/env node
// The `coffer` binary. It loads the bundled CLI (coffer.cjs) through V8's code cache
// (coffer.cjs.cache, made at build time), which saves compiling the bundle on every start;
// most coffer commands are short, so start-up time is most of their time. When the cache
// does not fit this Node version it is rebuilt at exit (best effort: the directory may be
// read-only). The cache holds compiled code only, never data.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const file = path.join(__dirname, 'coffer.cjs');
const cacheFile = `${file}.cache`;
const source = fs.readFileSync(file, 'utf8');
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(
  `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
  {
    filename: file,
    cachedData,
  },
);
if (cachedData === undefined || script.cachedDataRejected || process.env.COFFER_WRITE_CODE_CACHE) {
  process.once('exit', () => {
    try {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    } catch {
      // read-only install: run without a cache
    }
  });
}
const mod = { exports: {} };
script.runInThisContext()(mod.exports, require, mod, file, __dirname);
