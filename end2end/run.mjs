// Runs every test file in tests/ with node's test runner in Chromium, each file against a server of
// its own (a fresh SQLite database with the demo conference): no file depends on what another left
// behind, and two files run at once (E2E_JOBS, default 2): one at a time (one server) took 328 s
// here, two at a time 231 s, the two cores then 76-99 % busy.
// Each file's output is printed whole when it ends, then a summary of the files and their times.
// Used by scripts/test (after `cargo leptos build`); can be run alone: `node end2end/run.mjs`.
// E2E_ONLY=pattern runs only the tests whose name matches.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, E2E_DEMO_PASSWORD } from './server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'screenshots'), { recursive: true });

const jobs = Math.max(1, Number.parseInt(process.env.E2E_JOBS ?? '2', 10) || 1);
const only = process.env.E2E_ONLY ? [`--test-name-pattern=${process.env.E2E_ONLY}`] : [];
// The larger files first, so that the two queues end about together.
const queue = readdirSync(join(here, 'tests'))
  .filter((f) => f.endsWith('.test.mjs'))
  .map((f) => ({ file: f, size: statSync(join(here, 'tests', f)).size }))
  .sort((a, b) => b.size - a.size || a.file.localeCompare(b.file))
  .map((f) => f.file);

const results = [];

async function runFile(file) {
  const started = Date.now();
  let server;
  let output = '';
  let code;
  // Said at once, so that a file that hangs is named while the others' output waits for their end.
  console.log(`=== ${file}: started`);
  try {
    server = await startServer({}, { quiet: true });
    // A test that hangs (a wait with no end of its own) fails after 5 minutes, named, instead of
    // holding CI to its limit; the longest test takes about 45 s.
    const args = ['--test', '--test-concurrency=1', '--test-timeout=300000', ...only];
    const child = spawn(process.execPath, [...args, join(here, 'tests', file)], {
      cwd: here,
      env: { ...process.env, BASE_URL: server.baseUrl, DEMO_PASSWORD: E2E_DEMO_PASSWORD },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    code = await new Promise((ok) => child.on('close', (c) => ok(c ?? 1)));
  } catch (e) {
    output += `${String(e)}\n`;
    code = 1;
  } finally {
    await server?.stop();
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  process.stdout.write(`\n=== ${file} (${code === 0 ? 'passed' : 'FAILED'}, ${seconds} s)\n${output}`);
  results.push({ file, code, seconds });
}

async function worker() {
  for (let file = queue.shift(); file; file = queue.shift()) {
    await runFile(file);
  }
}

const started = Date.now();
await Promise.all(Array.from({ length: jobs }, worker));
const failed = results.filter((r) => r.code !== 0);
console.log(`\n=== end-to-end: ${results.length - failed.length} of ${results.length} files passed, ` +
  `${jobs} at a time, ${Math.round((Date.now() - started) / 1000)} s`);
for (const r of results.sort((a, b) => b.seconds - a.seconds)) {
  console.log(`  ${r.code === 0 ? 'ok  ' : 'FAIL'} ${String(r.seconds).padStart(4)} s  ${r.file}`);
}
process.exit(failed.length === 0 ? 0 : 1);
