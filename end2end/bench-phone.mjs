// Benchmark: an attendee's first visit to `/` on a phone on a crowded venue network, in Chromium
// with CDP network emulation (1.6 Mbit/s down, 750 kbit/s up, 150 ms RTT) and a 4× CPU slowdown.
// For each of RUNS (5) cold loads (a fresh browser context: empty cache, the demo attendee's
// session cookie already set), prints:
//   - JS + WASM bytes transferred (compressed, as on the wire) before the page is interactive;
//   - "hydrated": ms from navigation start until the WASM client has hydrated the page;
//   - "star saved": ms from navigation start until the server's answer to a click on a talk's star
//     arrives (the click is sent as soon as the page is hydrated);
// then the medians, and what a second visit (same context, warm cache) transfers of JS + WASM.
// Prints figures; asserts nothing. Run by scripts/bench-phone (release build), or alone after
// `cargo leptos build --release`: TESSERA_BIN=target/release/tessera node end2end/bench-phone.mjs
import { launch } from './helpers.mjs';
import { startServer, E2E_DEMO_PASSWORD } from './server.mjs';

const RUNS = Number(process.env.RUNS ?? 5);
const server = await startServer();
// BENCH_PATH=talk: the first talk's page.
const PATH = process.env.BENCH_PATH === 'talk'
  ? (await (await fetch(`${server.baseUrl}/`)).text()).match(/href="(\/talks\/[0-9a-f-]{36})"/)[1]
  : process.env.BENCH_PATH ?? '/';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// Pages other than `/` are measured the same way: BENCH_PATH=/tickets (no star to click there).
const kb = (n) => (n / 1024).toFixed(1);

/** Watches the page's network through CDP: bytes on the wire of JS and WASM responses. */
async function throttled(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1000 * 1000) / 8,
    uploadThroughput: (750 * 1000) / 8,
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  const types = new Map();
  const counter = { script: 0, all: 0, files: [] };
  cdp.on('Network.responseReceived', (e) => types.set(e.requestId, e.response.url));
  cdp.on('Network.loadingFinished', (e) => {
    const url = types.get(e.requestId) ?? '';
    counter.all += e.encodedDataLength;
    if (/\.(js|wasm)(\?|$)/.test(url)) {
      counter.script += e.encodedDataLength;
      counter.files.push(`${url.replace(server.baseUrl, '')} ${kb(e.encodedDataLength)} KB`);
    }
  });
  return counter;
}

const browser = await launch();
const rows = [];
let second = null;
try {
  for (let run = 1; run <= RUNS; run++) {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      locale: 'fr-FR',
      isMobile: true,
      hasTouch: true,
      baseURL: server.baseUrl,
    });
    // Log in without a page (the measure starts at the programme, as after a earlier visit's login).
    const login = await context.request.post('/api/login', {
      form: { email: 'attendee@tessera.localhost', password: E2E_DEMO_PASSWORD },
      maxRedirects: 0,
    });
    if (login.status() >= 400) throw new Error(`login failed: ${login.status()}`);
    const page = await context.newPage();
    const counter = await throttled(context, page);
    const start = Date.now();
    await page.goto(PATH, { waitUntil: 'commit' });
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 120000 });
    const hydrated = Date.now() - start;
    const scriptBytes = counter.script;
    // The first talk the attendee's pass lets them save, not saved yet (pages with stars only).
    const star = page.locator('.talk-card .save-button:not(.saved)').first();
    let saved = NaN;
    if (await star.count()) {
      const answer = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/api/'), { timeout: 60000 });
      await star.click();
      const res = await answer;
      if (!res.ok()) throw new Error(`the save was refused: ${res.status()}`);
      saved = Date.now() - start;
      await page.waitForSelector('.talk-card .save-button.saved', { timeout: 60000 });
    }
    const stillSaved = await page.locator('.talk-card .save-button.saved').count();
    rows.push({ run, scriptBytes, hydrated, saved, stillSaved, files: counter.files });
    console.log(
      `run ${run}: JS+WASM ${kb(scriptBytes)} KB  hydrated ${hydrated} ms  star saved ${saved} ms  (all bytes ${kb(counter.all)} KB)`,
    );
    if (run === RUNS) {
      // A second visit in the same context: what comes over the wire again.
      const again = await context.newPage();
      const c2 = await throttled(context, again);
      await again.goto(PATH, { waitUntil: 'commit' });
      await again.waitForSelector('body[data-hydrated="true"]', { timeout: 120000 });
      second = c2.script;
      console.log(`files of the first visit: ${counter.files.join(', ')}`);
    }
    // Unsave it for the next run (a fresh context sees the server's state).
    if (!Number.isNaN(saved)) {
      await page.locator('.talk-card .save-button.saved').first().click();
      await page.waitForLoadState('networkidle');
    }
    await context.close();
  }
  console.log(
    `\n${PATH} on the phone profile, median of ${RUNS}: JS+WASM ${kb(median(rows.map((r) => r.scriptBytes)))} KB, ` +
      `hydrated ${median(rows.map((r) => r.hydrated))} ms, star saved ${median(rows.map((r) => r.saved))} ms; ` +
      `second visit JS+WASM ${kb(second ?? NaN)} KB`,
  );
} finally {
  await browser.close();
  await server.stop();
}
