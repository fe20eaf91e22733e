// Builds dist/: the CLI as one bundled file (fast start-up), the library entry points, and
// type declarations. better-sqlite3 stays external (native addon).
//
// `--no-types` skips the declarations. `--prepare` (npm's `prepare` script) skips them only
// for `npm ci` / `npm install` run in this checkout itself, whose dist/ serves the checkout
// (`npm test` and `npm run build` make them again): every other prepare builds a package
// that someone imports, so it has them: `npm pack` and `npm publish`, a git dependency, a
// directory packed by another project's install.
import { execFileSync, execFileSync as run } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

function withTypes() {
  if (process.argv.includes('--no-types')) return false;
  if (!process.argv.includes('--prepare')) return true;
  const { npm_command: command, INIT_CWD: from } = process.env;
  const here = (p) => realpathSync(resolve(p)) === realpathSync(process.cwd());
  return !((command === 'ci' || command === 'install') && from !== undefined && here(from));
}
const types = withTypes();
rmSync('dist', { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: ['better-sqlite3'],
  legalComments: 'none',
  define: { COFFER_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
};

/** What an MCP client sends first: the handshake, then the tool list. */
const MCP_HANDSHAKE = [
  {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'coffer-build', version: pkg.version },
    },
  },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', id: 2, method: 'tools/list' },
]
  .map((m) => `${JSON.stringify(m)}\n`)
  .join('');

/**
 * Runs the common commands once (init, set, then get, run and list in one process) with
 * COFFER_WRITE_CODE_CACHE so the loader stores V8's code cache including the functions those
 * commands compile; and `coffer mcp` through a client's first requests, for the cache of
 * coffer-mcp.cjs (an agent starts it for every session, and a package installed by another
 * user never writes one). The loader writes each mode 0600 behind a header naming the
 * SHA-256 of its bundle, and trusts it only while that still matches (see src/cli/loader.cjs).
 */
function writeCodeCache() {
  const home = mkdtempSync(join(tmpdir(), 'coffer-build-'));
  const env = { PATH: process.env.PATH, HOME: home, COFFER_HOME: join(home, 'c') };
  const cli = (args, input, extra = {}) =>
    run(process.execPath, ['dist/cli.cjs', ...args], {
      env: { ...env, ...extra },
      input,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  try {
    cli(['init']);
    cli(['set', 'project/build/cache_key', '-d', 'Warm-up secret for the code cache'], 'value');
    // One process runs the short commands whose start-up matters, then writes the cache.
    const warmUp = [
      ['get', 'project/build/cache_key'],
      ['run', '-p', 'build', '--', process.execPath, '-e', '0'],
      ['list', 'project/build'],
    ];
    cli([], '', { COFFER_WRITE_CODE_CACHE: JSON.stringify(warmUp) });
    // coffer mcp rewrites coffer.cjs.cache too, with what it ran of coffer.cjs added: the
    // short commands' cache is put back as it was (the file keeps its mode, 0600).
    const hotCache = readFileSync('dist/coffer.cjs.cache');
    cli(['mcp'], MCP_HANDSHAKE, { COFFER_WRITE_CODE_CACHE: '1' });
    writeFileSync('dist/coffer.cjs.cache', hotCache);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  for (const bundle of ['dist/coffer.cjs', ...Object.values(OWN_BUNDLE).map((f) => `dist/${f}`)]) {
    const digest = createHash('sha256').update(readFileSync(bundle)).digest('hex');
    const header = `coffer-code-cache/1 sha256:${digest}\n`;
    const cache = readFileSync(`${bundle}.cache`);
    if (!cache.subarray(0, header.length).equals(Buffer.from(header))) {
      throw new Error(`${bundle}.cache was not written for this ${bundle}`);
    }
  }
}

// commander requires node:child_process (which loads node:net) for executable subcommands,
// a feature coffer does not use; load it only if something actually touches it.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes('node_modules/commander')
        ? { path: 'lazy', namespace: 'lazy-cp' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-cp' }, () => ({
      contents:
        "module.exports = new Proxy({}, { get: (_, k) => require('node:child_process')[k] });",
      loader: 'js',
    }));
  },
};

// The CLI bundles run through vm.Script (src/cli/loader.cjs), which has no loader for import():
// `await import('node:tty')` there fails with ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING. A
// built-in imported on demand is therefore required on demand, as esbuild does for bundled
// modules (the import still resolves to the module's namespace).
const builtinDynamicImport = {
  name: 'builtin-dynamic-import',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, namespace: 'builtin-import' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin-import' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

// The CLI is CommonJS: Node loads a CJS bundle a few milliseconds faster than ESM, which
// matters for short commands such as `coffer get` (see bench/).
//
// It is two files. dist/coffer.cjs holds the commands whose start-up time matters (HOT)
// with everything they use; every other command (serve, doctor, scan, backup, ...) is in
// dist/coffer-cold.cjs, loaded only when one of them runs. Every start reads, hashes and
// deserializes the whole of coffer.cjs and its code cache, so what `get` never runs stays
// out of it. The cold file takes the modules that run before any command (commander, the
// errors, the output) from the hot one (a registry of them, each initialised on first use),
// so the CofferError class and commander are the same objects in both.
//
// `coffer mcp` has a third file, dist/coffer-mcp.cjs, with the MCP SDK, zod, pino and yaml
// bundled in: loaded from node_modules, those packages were compiled from source on every
// start (no code cache), most of the command's start-up (an agent starts it for each
// session). In a file of its own they go through the loader's code cache, and no other
// command reads them. It takes the shared modules from the hot bundle as the cold file does.
const HOT_COMMANDS = new Set(['init', 'set', 'get', 'list', 'run']);
const HOT_REGISTRY = "Symbol.for('coffer.cli.modules')";
/** The cold commands with a bundle of their own; every other one is in coffer-cold.cjs. */
const OWN_BUNDLE = { mcp: 'coffer-mcp.cjs' };
const bundleOf = (command) => OWN_BUNDLE[command] ?? 'coffer-cold.cjs';
/** What only the commands in their own bundle use, bundled into it (see `external`). */
const OWN_BUNDLE_PACKAGES = ['@modelcontextprotocol/*', 'zod', 'zod/*', 'pino', 'yaml'];
const cliOptions = {
  ...common,
  format: 'cjs',
  // better-sqlite3's JavaScript is bundled too; only its native addon is loaded from disk.
  // The MCP SDK, zod and pino (`coffer mcp`) are bundled into coffer-mcp.cjs only: in the
  // hot bundle they made the file four times larger and `coffer get` a few ms slower to
  // start. The cold commands load zod from node_modules (the manifest reader, the server),
  // and yaml (a seventh of the hot bundle) where a manifest is read. hono and
  // @hono/node-server (`coffer serve`) stay there too; pg is an optional dependency, loaded
  // from node_modules when COFFER_DATABASE_URL is used; age-encryption (ESM, with the noble
  // libraries) only by the backup commands. Whatever is bundled is read, decoded and
  // deserialized on every start.
  external: [
    ...['*.node', 'bindings', ...OWN_BUNDLE_PACKAGES],
    ...['hono', 'hono/*', '@hono/node-server', 'pg', 'age-encryption', '@noble/*'],
  ],
  minifyIdentifiers: true,
  minifySyntax: true,
  minifyWhitespace: true,
  // COFFER_CLI_BUNDLE: code that runs differently in the CommonJS CLI bundle (its own
  // `require`) than in the library's ES modules.
  define: {
    ...common.define,
    'import.meta.url': '__cofferModuleUrl',
    COFFER_CLI_BUNDLE: 'true',
  },
  banner: { js: "const __cofferModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
};

/** The cold command a `./commands/NAME-command.js` import of main.ts names, if it is one. */
function coldCommand(path, importer) {
  const m = /^\.\/commands\/([a-z-]+)-command\.js$/.exec(path);
  return m && importer.endsWith(join('src', 'cli', 'main.ts')) && !HOT_COMMANDS.has(m[1])
    ? m[1]
    : undefined;
}

/**
 * In the hot bundle, main.ts's import of a cold command loads it from its bundle
 * (coffer-cold.cjs, or the one it has of its own).
 */
const coldCommands = {
  name: 'cold-commands',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\// }, (args) => {
      const name = coldCommand(args.path, args.importer);
      return name === undefined ? undefined : { path: name, namespace: 'cold-command' };
    });
    b.onResolve({ filter: /^\.\/coffer-[a-z]+\.cjs$/ }, () => ({ external: true }));
    b.onLoad({ filter: /.*/, namespace: 'cold-command' }, (args) => ({
      contents: `module.exports = require('./${bundleOf(args.path)}').load(${JSON.stringify(args.path)});`,
      loader: 'js',
      resolveDir: resolve('dist'),
    }));
  },
};

/** The hot bundle's entry: the registry of its modules, then bin.ts. */
function hotEntry(modules) {
  const lines = modules.map(
    (m) => `  ${JSON.stringify(m.key)}: () => require(${JSON.stringify(m.file)}),`,
  );
  return `globalThis[${HOT_REGISTRY}] = {\n${lines.join('\n')}\n};\nrequire(${JSON.stringify(resolve('src/cli/bin.ts'))});\n`;
}

/** The cold bundle's entry: `load(name)` initialises one cold command's module. */
function coldEntry(names) {
  const cases = names.map(
    (n) =>
      `    case ${JSON.stringify(n)}: return require(${JSON.stringify(resolve(`src/cli/commands/${n}-command.ts`))});`,
  );
  return `exports.load = (name) => {\n  switch (name) {\n${cases.join('\n')}\n  }\n  throw new Error('no such command module: ' + name);\n};\n`;
}

/**
 * In the cold bundle, an import of a module the hot bundle holds takes the hot one's; the
 * keys of those it takes are added to `used` (the registry names only them).
 */
function fromHot(hot, used) {
  return {
    name: 'from-hot',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === 'inner' || args.kind === 'entry-point') return undefined;
        const r = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: 'inner',
        });
        if (r.errors.length > 0 || r.external || !hot.has(r.path)) return undefined;
        used.add(hot.get(r.path));
        // The `.cjs` ending makes esbuild read the stand-in as CommonJS whatever the original.
        return { path: `${hot.get(r.path)}.cjs`, namespace: 'hot-module' };
      });
      b.onLoad({ filter: /.*/, namespace: 'hot-module' }, (args) => ({
        contents: `module.exports = globalThis[${HOT_REGISTRY}][${JSON.stringify(args.path.slice(0, -4))}]();`,
        loader: 'js',
      }));
    },
  };
}

async function buildCli() {
  const entry = (contents) => ({ contents, resolveDir: resolve('.'), loader: 'js' });
  // First the hot bundle alone, to learn which modules it holds; then again with their
  // registry (which adds no module: it names only those).
  const first = await build({
    ...cliOptions,
    stdin: entry(`require(${JSON.stringify(resolve('src/cli/bin.ts'))});`),
    outfile: 'dist/coffer.cjs',
    plugins: [lazyChildProcess, builtinDynamicImport, coldCommands],
    metafile: true,
    write: false,
  });
  // The modules every start loads (bin.ts and what it imports statically: commander, the
  // errors, the output): the only ones a cold command shares with the hot bundle, since they
  // are the only hot code that runs with it. Every other module the cold commands use is
  // bundled into coffer-cold.cjs as well (only one of the two copies ever runs in a process
  // that runs one command), which keeps the hot bundle's code cache small.
  const inputs = first.metafile.inputs;
  const shared = new Set();
  const visit = (k) => {
    if (shared.has(k) || inputs[k] === undefined) return;
    shared.add(k);
    for (const i of inputs[k].imports) {
      if (i.kind === 'import-statement' || i.kind === 'require-call') visit(i.path);
    }
  };
  for (const k of Object.keys(inputs)) if (k.endsWith(join('src', 'cli', 'bin.ts'))) visit(k);
  const hot = new Map(
    [...shared]
      .filter((k) => !k.includes(':') && !k.startsWith('<'))
      .map((k) => [realpathSync(resolve(k)), k]),
  );
  const cold = readdirSync('src/cli/commands')
    .map((f) => /^([a-z-]+)-command\.ts$/.exec(f)?.[1])
    .filter((n) => n !== undefined && !HOT_COMMANDS.has(n))
    .sort();
  const used = new Set();
  await build({
    ...cliOptions,
    stdin: entry(coldEntry(cold.filter((n) => OWN_BUNDLE[n] === undefined))),
    outfile: 'dist/coffer-cold.cjs',
    plugins: [lazyChildProcess, builtinDynamicImport, fromHot(hot, used)],
  });
  for (const [name, file] of Object.entries(OWN_BUNDLE)) {
    await build({
      ...cliOptions,
      external: cliOptions.external.filter((e) => !OWN_BUNDLE_PACKAGES.includes(e)),
      stdin: entry(coldEntry([name])),
      outfile: `dist/${file}`,
      plugins: [lazyChildProcess, builtinDynamicImport, fromHot(hot, used)],
    });
  }
  // Only the modules the cold bundle takes are in the registry: naming a module there gives
  // it an exports object, built when it is first loaded, which the hot commands do not need.
  const modules = [...hot].filter(([, key]) => used.has(key)).map(([file, key]) => ({ file, key }));
  await build({
    ...cliOptions,
    stdin: entry(hotEntry(modules)),
    outfile: 'dist/coffer.cjs',
    plugins: [lazyChildProcess, builtinDynamicImport, coldCommands],
  });
}
await buildCli();
copyFileSync('src/cli/loader.cjs', 'dist/cli.cjs');

// The web UI's script and stylesheet (src/server/ui/assets.ts reads them from dist/ui/).
await build({
  entryPoints: [
    { in: 'src/server/ui/client/app.ts', out: 'app' },
    { in: 'src/server/ui/app.css', out: 'app' },
  ],
  outdir: 'dist/ui',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: ['chrome120', 'firefox120', 'safari16'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync('dist/cli.cjs', 0o755);
writeCodeCache();

await build({
  ...common,
  entryPoints: {
    index: 'src/index.ts',
    fernet: 'src/core/fernet/index.ts',
    client: 'src/client/index.ts',
    redact: 'src/core/redact/index.ts',
    envelope: 'src/core/envelope/index.ts',
  },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});

if (types) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}
