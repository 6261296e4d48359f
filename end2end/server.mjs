// Starts a built Tessera server on a fresh SQLite database with the demo conference; used by
// run.mjs for the whole suite, and by tests that need a server of their own (the door test starts
// one whose clock is on the conference's first day).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
export const BIN = process.env.TESSERA_BIN ?? join(root, 'target/debug/tessera');
const siteRoot = process.env.LEPTOS_SITE_ROOT ?? join(root, 'target/site');
export const E2E_DEMO_PASSWORD = 'e2e-demo-password-2027';

const freePort = () => new Promise((ok, fail) => {
  const srv = createServer();
  srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => ok(port)); });
  srv.on('error', fail);
});

/** Starts a server; resolves to { baseUrl, dataDir, stop() } once it answers /readyz.
 * `quiet` drops its start-up banner (the demo accounts), printed once per server otherwise. */
export async function startServer(extraEnv = {}, { quiet = false } = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = spawn(BIN, [], {
    cwd: dataDir,
    env: {
      ...process.env,
      ADDR: `127.0.0.1:${port}`,
      BASE_URL: baseUrl,
      DATABASE_URL: `sqlite:${join(dataDir, 'e2e.db')}`,
      SEED_DEMO: 'true',
      DEMO_PASSWORD: E2E_DEMO_PASSWORD,
      LEPTOS_SITE_ROOT: siteRoot,
      TESSERA_ENV: 'dev',
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'],
  });
  const killOnExit = () => { if (server.exitCode === null) server.kill('SIGTERM'); };
  process.on('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.on('exit', r));
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200 && server.exitCode === null; i++) {
    try {
      const res = await fetch(`${baseUrl}/readyz`);
      if (res.ok) return { baseUrl, dataDir, stop };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`e2e: the server at ${baseUrl} did not become ready (binary: ${BIN})`);
}
