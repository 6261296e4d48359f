// The door, in a real browser with a camera: a server of its own whose clock is on the morning of
// day 1 (CLOCK_START), the demo attendee's real ticket rendered by the project's own QR renderer
// into a video (`tessera qr-video`), fed to Chromium's fake camera. Staff scan it: OK with the
// attendee's name, once; held in view it is not scanned again; anyone later gets ALREADY USED.
// Then the flaky network before the phone holds door data: a scan that cannot reach the server is
// never shown OK, survives a reload, and is answered once the network is back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { launch, newPage, openHydrated, shot, login } from '../helpers.mjs';
import { startServer, BIN, E2E_DEMO_PASSWORD } from '../server.mjs';

let server;
let camBrowser;
let plainBrowser;
let token;

/** The attendee's ticket code (what its QR code carries), through the same server functions the site uses. */
async function attendeeToken(baseUrl) {
  const headers = { origin: baseUrl, 'content-type': 'application/x-www-form-urlencoded' };
  const res = await fetch(`${baseUrl}/api/login`, {
    method: 'POST', headers,
    body: new URLSearchParams({ email: 'attendee@tessera.localhost', password: E2E_DEMO_PASSWORD }),
    redirect: 'manual',
  });
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const tickets = await (await fetch(`${baseUrl}/api/my_tickets`, { method: 'POST', headers: { ...headers, cookie } })).json();
  assert.equal(tickets.length, 1, 'the demo attendee holds one ticket');
  return tickets[0].code;
}

before(async () => {
  server = await startServer({ CLOCK_START: '2027-06-10T09:30:00+02:00' });
  token = await attendeeToken(server.baseUrl);
  const video = join(server.dataDir, 'ticket.y4m');
  execFileSync(BIN, ['qr-video', token, video]);
  camBrowser = await launch([
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${video}`,
  ]);
  plainBrowser = await launch();
});
after(async () => {
  await camBrowser?.close();
  await plainBrowser?.close();
  await server?.stop();
});

async function doorPage(browser, email) {
  const page = await newPage(browser, { phone: true, baseURL: server.baseUrl });
  await page.context().grantPermissions(['camera'], { origin: server.baseUrl });
  await login(page, email, E2E_DEMO_PASSWORD);
  await openHydrated(page, '/scan');
  return page;
}

test('staff scan the attendee ticket with the camera: OK once, then ALREADY USED for anyone', async () => {
  const staff = await doorPage(camBrowser, 'staff@tessera.localhost');
  const ok = staff.locator('.scan-result[data-outcome="OK"]');
  await ok.waitFor({ timeout: 20000 });
  assert.match(await ok.locator('.scan-holder').textContent(), /Anne Participante/);
  assert.match(await ok.locator('.scan-pass').textContent(), /Pass Jour 1/);
  await shot(staff, 'scan-ok');
  const decodeMs = await staff.locator('.scan-decode').getAttribute('data-decode-ms');
  const answerMs = await ok.getAttribute('data-answer-ms');
  console.log(`door: decode ${decodeMs} ms per frame (median, debug build); code seen → answer on screen ${answerMs} ms`);

  // The code stays in front of the camera (the video loops): no second answer for this staff member.
  await staff.waitForTimeout(4000);
  assert.equal(await staff.locator('[data-outcome="ALREADY_USED"]').count(), 0, 'held in view, not scanned again');
  assert.equal(await staff.locator('.scan-history li').count(), 1);
  await staff.locator('.scan-total[data-checked-in="1"]').waitFor();

  // Anyone later: ALREADY USED, when and by whom.
  const admin = await doorPage(camBrowser, 'admin@tessera.localhost');
  const used = admin.locator('.scan-result[data-outcome="ALREADY_USED"]');
  await used.waitFor({ timeout: 20000 });
  assert.match(await used.locator('.scan-used').textContent(), /Samir Staff/);
  assert.match(await used.locator('.scan-used').textContent(), /10\/06 09:3\d/);
  await shot(admin, 'scan-already-used');
  assert.deepEqual([...staff.errors, ...admin.errors], []);
  await staff.context().close();
  await admin.context().close();
});

test('a scan that cannot reach the server before the phone holds door data is never OK, survives a reload, and is answered later', async () => {
  // Without door data (its sync blocked too) the phone cannot answer on its own; with it, it does
  // (door-offline.test.mjs).
  const page = await newPage(plainBrowser, { phone: true, baseURL: server.baseUrl });
  await page.route('**/api/door_sync', (route) => route.abort('internetdisconnected'));
  await login(page, 'staff@tessera.localhost', E2E_DEMO_PASSWORD);
  await openHydrated(page, '/scan');
  await page.locator('.scan-offline-state[data-ready="false"]').waitFor();
  await page.route('**/api/scan_redeem', (route) => route.abort('internetdisconnected'));
  await page.fill('#scan-token', token);
  await page.click('.scan-manual button[type="submit"]');
  await page.locator('.scan-result[data-outcome="UNCONFIRMED"]').waitFor();
  await shot(page, 'scan-unconfirmed');
  await page.locator('.scan-result').click();
  await page.locator('.scan-pending[data-pending="1"]').waitFor();

  await page.reload();
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.locator('.scan-pending[data-pending="1"]').waitFor();
  assert.equal(await page.locator('[data-outcome="OK"]').count(), 0, 'never shown as OK');

  await page.unroute('**/api/scan_redeem');
  await page.click('.scan-pending button');
  // The server's answer arrives (ALREADY USED after the camera test, OK when this test runs alone).
  const answered = page.locator('.scan-history li[data-outcome]');
  await answered.first().waitFor({ timeout: 20000 });
  assert.ok(['ALREADY_USED', 'OK'].includes(await answered.first().getAttribute('data-outcome')));
  assert.equal(await page.locator('.scan-pending').count(), 0, 'the queue is empty once answered');
  await page.context().close();
});
