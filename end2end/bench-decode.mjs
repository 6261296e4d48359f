// Benchmark: QR decode time per 640×480 camera frame in Chromium (the WASM client's rqrr decoder),
// median over the last 31 frames, while /scan runs against a fake camera showing a ticket.
// Prints figures; asserts nothing. Needs a built site: `cargo leptos build` (or --release), then
//   node end2end/bench-decode.mjs            (SECONDS=10 by default)
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { launch, newPage } from './helpers.mjs';
import { startServer, BIN, E2E_DEMO_PASSWORD } from './server.mjs';

const seconds = Number(process.env.SECONDS_TO_RUN ?? 10);
const server = await startServer({ CLOCK_START: '2027-06-10T09:00:00+02:00' }); // the code shown is no ticket: UNKNOWN once, then decoding goes on
try {
  const video = join(server.dataDir, 'bench.y4m');
  execFileSync(BIN, ['qr-video', 'bench-token-0123456789-abcdefghijklmnopqrstu', video]);
  const browser = await launch(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`]);
  const page = await newPage(browser, { phone: true, baseURL: server.baseUrl });
  await page.goto('/login');
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60000 });
  await page.fill('input[name="email"]', 'staff@tessera.localhost');
  await page.fill('input[name="password"]', E2E_DEMO_PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForSelector('.account-nav[data-user="staff@tessera.localhost"]');
  await page.goto('/scan');
  await page.waitForSelector('.scan-decode[data-decode-ms]', { timeout: 60000 });
  const answer = page.locator('.scan-result[data-outcome="UNKNOWN"]');
  await answer.waitFor({ timeout: 30000 });
  const answerMs = await answer.getAttribute('data-answer-ms');
  const samples = [];
  for (let i = 0; i < seconds; i++) {
    await page.waitForTimeout(1000);
    samples.push(Number(await page.locator('.scan-decode').getAttribute('data-decode-ms')));
  }
  samples.sort((a, b) => a - b);
  const wasm = execFileSync('sh', ['-c', `ls -l ${join(process.env.LEPTOS_SITE_ROOT ?? 'target/site', 'pkg')}/*.wasm | awk '{print $5}'`]).toString().trim();
  console.log(`decode per 640x480 frame in Chromium: median ${samples[Math.floor(samples.length / 2)]} ms (per-second medians over ${seconds} s: ${samples.join(', ')}); wasm ${wasm} bytes`);
  console.log(`code seen → answer on screen (one scan, audited redeem over HTTP): ${answerMs} ms`);
  await browser.close();
} finally {
  await server.stop();
}
