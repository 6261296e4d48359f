// The door without network, in a real browser: a server of its own whose clock is on the first
// day. Staff open /scan online (the page installs its service worker and syncs the door data),
// the network goes (context.setOffline), the page reloads from the service worker, and three
// codes get their answers from the device alone: OK, the same again ALREADY USED, a reissued
// ticket's old code CANCELED; back online, the server has the entries and the banner clears.
// Then two phones offline let the same ticket in: after they sync, both show the double entry and
// /admin/door lists it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, shot, login } from '../helpers.mjs';
import { startServer, E2E_DEMO_PASSWORD } from '../server.mjs';

let server;
let browser;
const codes = {};

async function apiLogin(email) {
  const res = await fetch(`${server.baseUrl}/api/login`, {
    method: 'POST',
    headers: { origin: server.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email, password: E2E_DEMO_PASSWORD }),
    redirect: 'manual',
  });
  return res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

async function api(cookie, endpoint, form = {}) {
  const res = await fetch(`${server.baseUrl}/api/${endpoint}`, {
    method: 'POST',
    headers: { origin: server.baseUrl, 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams(form),
    redirect: 'manual',
  });
  const text = await res.text();
  return { status: res.status, location: res.headers.get('location'), body: text ? JSON.parse(text) : null };
}

/** The demo attendee buys two more day-1 passes in test mode, through the site's functions. */
async function buyTwoMore(cookie) {
  const shop = await api(cookie, 'shop');
  const pass = shop.body.items.find((p) => p.name === 'Pass Jour 1');
  const checkout = await api(cookie, 'checkout', { 'lines[0][ticket_type_id]': pass.id, 'lines[0][quantity]': '2' });
  const session = checkout.location.split('/checkout/test/')[1];
  assert.ok(session, `checkout went to the test page: ${checkout.location}`);
  const paid = await api(cookie, 'test_checkout_act', { session_id: session, outcome: 'pay' });
  assert.ok(paid.status < 400, JSON.stringify(paid));
}

before(async () => {
  server = await startServer({ CLOCK_START: '2027-06-10T09:30:00+02:00' });
  const attendee = await apiLogin('attendee@tessera.localhost');
  await buyTwoMore(attendee);
  let tickets = (await api(attendee, 'my_tickets')).body;
  assert.equal(tickets.length, 3);
  assert.ok(tickets.every((t) => t.code.length === 151), 'QR codes carry signed codes');
  [codes.first, codes.second, codes.replaced] = tickets.map((t) => t.code);
  const admin = await apiLogin('admin@tessera.localhost');
  const reissued = await api(admin, 'admin_reissue_ticket', { ticket_id: tickets[2].id });
  assert.equal(reissued.status, 200);
  tickets = (await api(attendee, 'my_tickets')).body;
  codes.tickets = tickets;
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A steward's phone: logged in, /scan open online, door data synced, the worker in control. */
async function doorPhone() {
  const page = await newPage(browser, { phone: true, baseURL: server.baseUrl });
  await login(page, 'staff@tessera.localhost', E2E_DEMO_PASSWORD);
  await openHydrated(page, '/scan');
  await page.locator('.scan-offline-state[data-ready="true"]').waitFor({ timeout: 20000 });
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((ok) => navigator.serviceWorker.addEventListener('controllerchange', ok, { once: true }));
    }
  });
  return page;
}

async function type(page, code) {
  await page.fill('#scan-token', code);
  await page.click('.scan-manual button[type="submit"]');
}

async function answer(page, outcome, check = async () => {}) {
  const result = page.locator(`.scan-result[data-outcome="${outcome}"]`);
  try {
    await result.waitFor({ timeout: 10000 });
  } catch (e) {
    const seen = await page.locator('.scan-result').evaluateAll((els) => els.map((el) => el.outerHTML));
    const state = await page.locator('.scan-offline-state').evaluate((el) => el.outerHTML).catch(() => 'none')
      + (await page.locator('.scan-history').evaluate((el) => el.outerHTML).catch(() => 'no history'));
    throw new Error(`no ${outcome}; on screen: ${JSON.stringify(seen)}; state: ${state}; errors: ${JSON.stringify(page.errors)}`);
  }
  await check();
  await result.click();
  await page.locator('.scan-result').waitFor({ state: 'detached' });
}

test('offline, the page opens from the service worker and answers OK, ALREADY USED, CANCELED; online again, the server has the entries', async () => {
  const page = await doorPhone();
  await page.context().setOffline(true);
  await page.reload();
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30000 });
  await page.locator('.scan-offline-state[data-ready="true"]').waitFor();

  await type(page, codes.first);
  await answer(page, 'OK', async () => {
    assert.equal(await page.locator('.scan-result .scan-offline-answer').count(), 1, 'marked as the phone\'s answer');
    assert.match(await page.locator('.scan-result .scan-pass').textContent(), /Pass Jour 1/);
    await shot(page, 'door-offline-ok');
  });
  await type(page, codes.first);
  await answer(page, 'ALREADY_USED');
  await type(page, codes.replaced);
  await answer(page, 'CANCELED');
  const banner = page.locator('.scan-offline');
  await banner.waitFor();
  assert.match(await banner.textContent(), /3/);
  await page.locator('.scan-offline-state[data-outbox="3"][data-offline="true"]').waitFor();
  await shot(page, 'door-offline-banner');

  await page.context().setOffline(false);
  await page.locator('.scan-offline-state[data-outbox="0"][data-offline="false"]').waitFor({ timeout: 30000 });
  assert.equal(await page.locator('.scan-offline').count(), 0, 'the banner clears');
  const attendee = await apiLogin('attendee@tessera.localhost');
  const tickets = (await api(attendee, 'my_tickets')).body;
  const status = tickets.find((t) => t.id === codes.tickets[0].id).status;
  assert.ok(['Used', 'USED'].includes(status), `the server has the entry (${status})`);
  assert.deepEqual(page.errors.filter((e) => !/net::ERR_INTERNET_DISCONNECTED|Failed to fetch|NetworkError/.test(e)), []);
  await page.context().close();
});

test('two phones offline let the same ticket in: both show the double entry after syncing, and /admin/door lists it', async () => {
  const [a, b] = [await doorPhone(), await doorPhone()];
  await a.context().setOffline(true);
  await b.context().setOffline(true);
  await type(a, codes.second);
  await answer(a, 'OK');
  await type(b, codes.second);
  await answer(b, 'OK');
  await a.context().setOffline(false);
  await a.locator('.scan-offline-state[data-outbox="0"]').waitFor({ timeout: 30000 });
  await b.context().setOffline(false);
  await b.locator('.scan-conflicts[data-conflicts="1"]').waitFor({ timeout: 30000 });
  await shot(b, 'door-conflict');
  // A learns of it at its next sync (here: the page opened again).
  await a.reload();
  await a.locator('.scan-conflicts[data-conflicts="1"]').waitFor({ timeout: 30000 });

  const admin = await newPage(browser, { baseURL: server.baseUrl });
  await login(admin, 'admin@tessera.localhost', E2E_DEMO_PASSWORD);
  await openHydrated(admin, '/admin/door');
  const second = codes.tickets[1].id;
  await admin.locator(`table.door-conflicts tr[data-ticket="${second}"]`).waitFor();
  assert.ok(await admin.locator('table.door-devices tbody tr').count() >= 2);
  await shot(admin, 'admin-door');
  await Promise.all([a.context().close(), b.context().close(), admin.context().close()]);
});
