// Benchmark: the door's answer time offline, in Chromium. A steward's phone opens /scan online
// (door data synced), the network goes, and the demo attendee's signed code is typed and checked
// N times (SCANS, 100 by default): each answer is the phone's own (Ed25519 verify, revocation,
// validity, check-ins, the entry written to IndexedDB, the screen drawn). Prints the median and
// p90 of "code entered → answer on screen" (`data-answer-ms`). Decoding a camera frame comes on
// top (bench-decode.mjs). Asserts nothing. Needs a built site (`cargo leptos build --split`).
import { launch, newPage } from './helpers.mjs';
import { startServer, E2E_DEMO_PASSWORD } from './server.mjs';

const scans = Number(process.env.SCANS ?? 100);
const server = await startServer({ CLOCK_START: '2027-06-10T09:30:00+02:00' });
try {
  const headers = { origin: server.baseUrl, 'content-type': 'application/x-www-form-urlencoded' };
  const login = await fetch(`${server.baseUrl}/api/login`, {
    method: 'POST', headers, redirect: 'manual',
    body: new URLSearchParams({ email: 'attendee@tessera.localhost', password: E2E_DEMO_PASSWORD }),
  });
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const tickets = await (await fetch(`${server.baseUrl}/api/my_tickets`, { method: 'POST', headers: { ...headers, cookie } })).json();
  const code = tickets[0].code;

  const browser = await launch();
  const page = await newPage(browser, { phone: true, baseURL: server.baseUrl });
  await page.goto('/login');
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60000 });
  await page.fill('input[name="email"]', 'staff@tessera.localhost');
  await page.fill('input[name="password"]', E2E_DEMO_PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForSelector('.account-nav[data-user="staff@tessera.localhost"]');
  await page.goto('/scan');
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60000 });
  await page.locator('.scan-offline-state[data-ready="true"]').waitFor({ timeout: 30000 });
  await page.context().setOffline(true);

  const samples = [];
  for (let i = 0; i < scans; i++) {
    await page.fill('#scan-token', code);
    await page.click('.scan-manual button[type="submit"]');
    const result = page.locator('.scan-result[data-answer-ms]');
    await result.waitFor({ timeout: 10000 });
    samples.push(Number(await result.getAttribute('data-answer-ms')));
    await result.click();
    await page.locator('.scan-result').waitFor({ state: 'detached' });
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(samples.length * q))];
  const outbox = await page.locator('.scan-offline-state').getAttribute('data-outbox');
  console.log(`offline answer in Chromium (verify + checks + outbox write + screen), ${scans} scans: median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${samples[samples.length - 1]} ms; outbox ${outbox} entries`);
  await browser.close();
} finally {
  await server.stop();
}
