#!/usr/bin/env node
// The `coffer` binary. It loads the bundled CLI (coffer.cjs; coffer-cold.cjs or
// coffer-mcp.cjs when a command that lives there runs) through V8's code cache
// (coffer.cjs.cache and coffer-mcp.cjs.cache, made at build time; coffer-cold.cjs.cache, made
// when first used), which saves compiling on every start;
// most coffer commands are short, so start-up time is most of their time. The cache holds
// compiled code only, never data, but that code runs as coffer, so it is trusted only when:
//   - it starts with a header naming the SHA-256 of the exact bundle it was compiled from
//     (V8's own check compares little more than the source length, so a cache compiled from
//     other code of the same length would otherwise run that code); hashing the bundle
//     costs about 0.2 ms per start;
//   - it is owned by the bundle's owner and no one else may write it (whoever can write it
//     could forge the header too).
// Otherwise the bundle is compiled from source. When the cache is missing, refused, or does
// not fit this Node version, it is rewritten at exit, mode 0600 whatever the umask, and only
// by the bundle's owner (best effort: the directory may be read-only). An installed package
// then gets a cache for the Node version it really runs on, and no other user's process
// ever writes code that coffer will load.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createHash } = require('node:crypto');

/** Reads `name` and the fstat of that same open file (so both describe one file). */
function readWithStat(name) {
  const fd = fs.openSync(name, 'r');
  try {
    return { stat: fs.fstatSync(fd), bytes: fs.readFileSync(fd) };
  } finally {
    fs.closeSync(fd);
  }
}

const isWindows = process.platform === 'win32';

/** Runs the bundle `name` (beside this file) through its code cache; returns its exports. */
function load(name, requireFn) {
  const file = path.join(__dirname, name);
  const cacheFile = `${file}.cache`;
  const bundle = readWithStat(file);
  const source = bundle.bytes.toString('utf8');
  const header = Buffer.from(
    `coffer-code-cache/1 sha256:${createHash('sha256').update(bundle.bytes).digest('hex')}\n`,
  );

  /** The V8 data of the cache file, or undefined when there is none that may be trusted. */
  function trustedCache() {
    let cache;
    try {
      cache = readWithStat(cacheFile);
    } catch {
      return undefined; // no cache (or unreadable): compile from source
    }
    const ownerOk =
      isWindows || (cache.stat.uid === bundle.stat.uid && (cache.stat.mode & 0o022) === 0);
    const headerOk =
      cache.bytes.length > header.length && cache.bytes.subarray(0, header.length).equals(header);
    return ownerOk && headerOk ? cache.bytes.subarray(header.length) : undefined;
  }

  const cachedData = trustedCache();
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    { filename: file, cachedData },
  );
  const mayWrite = isWindows || process.getuid() === bundle.stat.uid;
  if (
    mayWrite &&
    (cachedData === undefined || script.cachedDataRejected || process.env.COFFER_WRITE_CODE_CACHE)
  ) {
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      let created = false;
      try {
        // 'wx' refuses an existing file (or a link planted under this name); the mode is set
        // explicitly because the umask could leave the file writable by others.
        const fd = fs.openSync(tmp, 'wx', 0o600);
        created = true;
        try {
          fs.fchmodSync(fd, 0o600);
          fs.writeFileSync(fd, Buffer.concat([header, script.createCachedData()]));
        } finally {
          fs.closeSync(fd);
        }
        fs.renameSync(tmp, cacheFile);
      } catch {
        // read-only install: run without a cache
        if (created) fs.rmSync(tmp, { force: true });
      }
    });
  }
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, requireFn, mod, file, __dirname);
  return mod.exports;
}

/** The bundles loaded on use (the commands outside coffer.cjs), by the name they are required by. */
const LAZY_BUNDLES = new Set(['./coffer-cold.cjs', './coffer-mcp.cjs']);
const loaded = new Map();

/** What the bundles get as `require`: the lazy bundles through load(), the rest as usual. */
const requireFn = Object.assign((id) => {
  if (!LAZY_BUNDLES.has(id)) return require(id);
  if (!loaded.has(id)) loaded.set(id, load(id.slice(2), requireFn));
  return loaded.get(id);
}, require);

load('coffer.cjs', requireFn);
