// Starts the built Tessera server on a fresh SQLite database with the demo conference, runs every
// test in tests/ with node's test runner against it in Chromium, then stops the server.
// Used by scripts/test (after `cargo leptos build`); can be run alone: `node end2end/run.mjs`.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, E2E_DEMO_PASSWORD } from './server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'screenshots'), { recursive: true });

let server;
try {
  server = await startServer();
} catch (e) {
  console.error(String(e));
  process.exit(1);
}

// E2E_ONLY=pattern runs only the tests whose name matches.
const only = process.env.E2E_ONLY ? [`--test-name-pattern=${process.env.E2E_ONLY}`] : [];
const tests = spawn(process.execPath, ['--test', '--test-concurrency=1', ...only, join(here, 'tests')], {
  cwd: here,
  env: { ...process.env, BASE_URL: server.baseUrl, DEMO_PASSWORD: E2E_DEMO_PASSWORD },
  stdio: 'inherit',
});
const code = await new Promise((ok) => tests.on('exit', (c) => ok(c ?? 1)));
await server.stop();
process.exit(code);
