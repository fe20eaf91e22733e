/**
 * `coffer inject` through the built binary: templates with {{ coffer://... }} references.
 */
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasMkfifo, makeFifo, startFifoWriter } from '../helpers/fifo.js';
import { procFileLargerThan } from '../helpers/proc-file.js';
import { makeHome } from './harness.js';

const PASSWORD = 'pw-Xq7-$&-never-in-a-message';

function vault() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const set = (path: string, env: string, value: string) => {
    const r = h.run(['set', path, '--env', env, '-d', "Password of the app's PostgreSQL user"], {
      input: value,
    });
    expect(r.code, r.stderr).toBe(0);
  };
  set('project/app/db_password', 'dev', PASSWORD);
  set('project/app/db_password', 'prod', 'prod-password-value-9');
  return h;
}

describe('coffer inject', () => {
  it('renders derived values per environment into a 0600 file, the template untouched', () => {
    const h = vault();
    const tpl = join(h.home, 'db.yaml.tpl');
    const text =
      'url: postgres://app:{{ coffer://project/app/db_password }}@db:5432/app\nprod: "{{coffer://project/app/db_password?env=prod}}"\n';
    writeFileSync(tpl, text);
    const out = join(h.home, 'db.yaml');
    const r = h.run(['inject', '-i', tpl, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(
      `url: postgres://app:${PASSWORD}@db:5432/app\nprod: "prod-password-value-9"\n`,
    );
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(tpl, 'utf8')).toBe(text);
    expect(r.stderr + r.stdout).not.toContain(PASSWORD);
    // --env picks the environment of references that name none.
    const prod = h.run(['inject', '-i', tpl, '-o', '-', '--env', 'prod']);
    expect(prod.stdout).toContain('postgres://app:prod-password-value-9@db');
    // An existing output needs --force, and the refusal says so, as export's does.
    const again = h.run(['inject', '-i', tpl, '-o', out]);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain(
      'coffer: hint: Choose another --out FILE, or pass --force to replace it.',
    );
    expect(h.run(['inject', '-i', tpl, '-o', out, '--force']).code).toBe(0);
  });

  it('refuses an unresolved reference by name and writes nothing', () => {
    const h = vault();
    const tpl = join(h.home, 'x.tpl');
    writeFileSync(
      tpl,
      'a={{ coffer://project/app/db_password }}\nb={{ coffer://project/app/missing }}\n',
    );
    const out = join(h.home, 'x.out');
    const r = h.run(['inject', '-i', tpl, '-o', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('coffer://project/app/missing does not resolve');
    expect(r.stderr).not.toContain(PASSWORD);
    expect(existsSync(out)).toBe(false);
  });

  it('never writes over the template, even through another name for it', () => {
    const h = vault();
    const tpl = join(h.home, 'same.tpl');
    writeFileSync(tpl, 'a={{ coffer://project/app/db_password }}\n');
    for (const out of [tpl, join(h.home, '.', 'same.tpl')]) {
      const r = h.run(['inject', '-i', tpl, '-o', out, '--force']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('write over the template');
    }
    expect(readFileSync(tpl, 'utf8')).toBe('a={{ coffer://project/app/db_password }}\n');
  });

  it('a template past 1 MiB, or one whose size only reading tells (/proc), is refused by name; nothing written', () => {
    const h = vault();
    const tpl = join(h.home, 'huge.tpl');
    writeFileSync(tpl, 'a={{ coffer://project/app/db_password }}\n');
    truncateSync(tpl, 3 * 1024 * 1024 * 1024); // sparse: nothing is really written
    const out = join(h.home, 'out.yaml');
    // A /proc file: stat says 0 bytes, reading gives megabytes (where this system has one).
    const proc = procFileLargerThan(1024 * 1024);
    for (const file of proc === undefined ? [tpl] : [proc, tpl]) {
      const r = h.run(['inject', '-i', file, '-o', out]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${file} is larger than 1 MiB, the limit for a template`);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(r.stderr).not.toContain(PASSWORD);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('a template that is /dev/zero or a FIFO is refused as not a file, never read', async () => {
    const h = vault();
    const out = join(h.home, 'out.yaml');
    const zero = h.run(['inject', '-i', '/dev/zero', '-o', out]);
    expect(zero.code, zero.stderr).toBe(2);
    expect(zero.stderr).toContain('/dev/zero is not a file');
    if (!hasMkfifo) return;
    const fifo = makeFifo(h.home, 'pipe.tpl');
    const writer = await startFifoWriter(fifo, 'a={{ coffer://project/app/db_password }}\n');
    try {
      const r = h.run(['inject', '-i', fifo, '-o', out]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${fifo} is not a file`);
    } finally {
      writer.stop();
    }
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a malformed reference with a usage error', () => {
    const h = vault();
    const tpl = join(h.home, 'bad.tpl');
    writeFileSync(tpl, 'a={{ coffer://project/App/x }}\n');
    const r = h.run(['inject', '-i', tpl, '-o', '-']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid reference');
  });

  describe('coffer run --dotenv with references', () => {
    it('injects exactly what run --project injects, and renders derived values', () => {
      const h = makeHome();
      expect(h.run(['init']).code).toBe(0);
      const values: Record<string, string> = {
        stripe_key: 'sk_test_ref_value_1',
        db_password: 'pw with spaces & $dollar',
        jwt_secret: 'jwt-secret-value-3',
      };
      for (const [name, value] of Object.entries(values)) {
        const r = h.run(
          ['set', `project/shop/${name}`, '-d', `Shop ${name.replace('_', ' ')} for the checkout`],
          {
            input: value,
          },
        );
        expect(r.code, r.stderr).toBe(0);
      }
      const refs = join(h.home, '.env.refs');
      writeFileSync(
        refs,
        `${Object.keys(values)
          .map((n) => `${n.toUpperCase()}=coffer://project/shop/${n}`)
          .join(
            '\n',
          )}\nDATABASE_URL="postgres://app:{{ coffer://project/shop/db_password }}@db/app"\nPLAIN=not-a-secret\n`,
      );
      const show =
        "process.stdout.write(JSON.stringify(Object.fromEntries(['STRIPE_KEY','DB_PASSWORD','JWT_SECRET','DATABASE_URL','PLAIN'].map((k) => [k, process.env[k] ?? null]))))";
      const byProject = h.run([
        'run',
        '--no-mask',
        '--project',
        'shop',
        '--',
        process.execPath,
        '-e',
        show,
      ]);
      expect(byProject.code, byProject.stderr).toBe(0);
      const byRefs = h.run([
        'run',
        '--no-mask',
        '--dotenv',
        refs,
        '--',
        process.execPath,
        '-e',
        show,
      ]);
      expect(byRefs.code, byRefs.stderr).toBe(0);
      const a = JSON.parse(byProject.stdout);
      const b = JSON.parse(byRefs.stdout);
      for (const k of ['STRIPE_KEY', 'DB_PASSWORD', 'JWT_SECRET']) expect(b[k]).toBe(a[k]);
      expect(b.DATABASE_URL).toBe(`postgres://app:${values.db_password}@db/app`);
      expect(b.PLAIN).toBe('not-a-secret');
      // Rotating the password changes the derived value at the next run.
      expect(h.run(['set', 'project/shop/db_password'], { input: 'rotated-pw-4' }).code).toBe(0);
      const after = JSON.parse(
        h.run(['run', '--no-mask', '--dotenv', refs, '--', process.execPath, '-e', show]).stdout,
      );
      expect(after.DATABASE_URL).toBe('postgres://app:rotated-pw-4@db/app');
    });

    it('env pull --references writes a committable file that run --dotenv turns into the same environment', () => {
      const h = makeHome();
      expect(h.run(['init']).code).toBe(0);
      for (const [name, value] of [
        ['stripe_key', 'sk_test_pull_ref_1'],
        ['webhook_secret', 'whsec pull ref "2"'],
      ] as const) {
        const r = h.run(
          ['set', `project/shop/${name}`, '-d', `Shop ${name.replace('_', ' ')} for the checkout`],
          {
            input: value,
          },
        );
        expect(r.code, r.stderr).toBe(0);
      }
      const refs = join(h.home, '.env.refs');
      const pull = h.run(['env', 'pull', '--project', 'shop', '--references', '--file', refs]);
      expect(pull.code, pull.stderr).toBe(0);
      const text = readFileSync(refs, 'utf8');
      expect(text).toBe(
        'STRIPE_KEY=coffer://project/shop/stripe_key\nWEBHOOK_SECRET=coffer://project/shop/webhook_secret\n',
      );
      const show =
        'process.stdout.write(JSON.stringify([process.env.STRIPE_KEY, process.env.WEBHOOK_SECRET]))';
      const a = h.run([
        'run',
        '--no-mask',
        '--project',
        'shop',
        '--',
        process.execPath,
        '-e',
        show,
      ]);
      const b = h.run(['run', '--no-mask', '--dotenv', refs, '--', process.execPath, '-e', show]);
      expect(b.code, b.stderr).toBe(0);
      expect(JSON.parse(b.stdout)).toEqual(JSON.parse(a.stdout));
      expect(JSON.parse(b.stdout)).toEqual(['sk_test_pull_ref_1', 'whsec pull ref "2"']);
    });

    it('an unresolved reference stops the run before the program starts', () => {
      const h = makeHome();
      expect(h.run(['init']).code).toBe(0);
      const refs = join(h.home, '.env.refs');
      writeFileSync(refs, 'MISSING=coffer://project/shop/nothing\n');
      const marker = join(h.home, 'ran');
      const r = h.run([
        'run',
        '--dotenv',
        refs,
        '--',
        process.execPath,
        '-e',
        `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`,
      ]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('coffer://project/shop/nothing does not resolve');
      expect(existsSync(marker)).toBe(false);
      // A --dotenv file that is not there stops it too: no program without its secrets.
      const gone = h.run([
        'run',
        '--dotenv',
        join(h.home, '.env.refz'),
        '--',
        process.execPath,
        '-e',
        `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`,
      ]);
      expect(gone.code).toBe(3);
      expect(gone.stderr).toContain('.env.refz to read references from');
      expect(existsSync(marker)).toBe(false);
    });
  });
});
