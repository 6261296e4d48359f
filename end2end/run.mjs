// Starts the built Tessera server on a fresh SQLite database with the demo conference, runs every
// test in tests/ with node's test runner against it in Chromium, then stops the server.
// Used by scripts/test (after `cargo leptos build`); can be run alone: `node end2end/run.mjs`.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const bin = process.env.TESSERA_BIN ?? join(root, 'target/debug/tessera');
const siteRoot = process.env.LEPTOS_SITE_ROOT ?? join(root, 'target/site');

const freePort = () => new Promise((ok, fail) => {
  const srv = createServer();
  srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => ok(port)); });
  srv.on('error', fail);
});

const port = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
mkdirSync(join(here, 'screenshots'), { recursive: true });
const baseUrl = `http://127.0.0.1:${port}`;
const demoPassword = 'e2e-demo-password-2027';

const server = spawn(bin, [], {
  cwd: dataDir,
  env: {
    ...process.env,
    ADDR: `127.0.0.1:${port}`,
    BASE_URL: baseUrl,
    DATABASE_URL: `sqlite:${join(dataDir, 'e2e.db')}`,
    SEED_DEMO: 'true',
    DEMO_PASSWORD: demoPassword,
    LEPTOS_SITE_ROOT: siteRoot,
    TESSERA_ENV: 'dev',
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const stop = () => { if (server.exitCode === null) server.kill('SIGTERM'); };
process.on('exit', stop);

let ready = false;
for (let i = 0; i < 200 && server.exitCode === null; i++) {
  try {
    const res = await fetch(`${baseUrl}/readyz`);
    if (res.ok) { ready = true; break; }
  } catch { /* not up yet */ }
  await new Promise((r) => setTimeout(r, 100));
}
if (!ready) {
  console.error(`e2e: the server at ${baseUrl} did not become ready (binary: ${bin})`);
  stop();
  process.exit(1);
}

// E2E_ONLY=pattern runs only the tests whose name matches.
const only = process.env.E2E_ONLY ? [`--test-name-pattern=${process.env.E2E_ONLY}`] : [];
const tests = spawn(process.execPath, ['--test', '--test-concurrency=1', ...only, join(here, 'tests')], {
  cwd: here,
  env: { ...process.env, BASE_URL: baseUrl, DEMO_PASSWORD: demoPassword },
  stdio: 'inherit',
});
const code = await new Promise((ok) => tests.on('exit', (c) => ok(c ?? 1)));
stop();
await new Promise((r) => (server.exitCode === null ? server.on('exit', r) : r()));
rmSync(dataDir, { recursive: true, force: true });
process.exit(code);
