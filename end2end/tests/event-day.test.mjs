// The event day in a real browser (issue 29), on a server of its own whose clock is Thursday
// 13:30: a steward whose phone scans for the workshop's list is told NOT ON THIS LIST for the demo
// attendee (no seat), switches to the entrance (OK, counters move); the attendee books a seat of
// the workshop from their personal programme; back on the workshop's list the same ticket is OK.
// Then /admin/door: the lists, the arrivals, and the badges' PDF.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { launch, newPage, openHydrated, shot, login } from '../helpers.mjs';
import { startServer, BIN, E2E_DEMO_PASSWORD } from '../server.mjs';

const ENTRANCE = '00000000-0000-0000-0000-0000000000e0';
const WORKSHOP_LIST = '00000000-0000-0000-0000-0000000000e1';
const WORKSHOP = 'Atelier Leptos : une application de bout en bout';

let server;
let camBrowser;
let plainBrowser;

async function attendeeCode(baseUrl) {
  const headers = { origin: baseUrl, 'content-type': 'application/x-www-form-urlencoded' };
  const res = await fetch(`${baseUrl}/api/login`, {
    method: 'POST', headers,
    body: new URLSearchParams({ email: 'attendee@tessera.localhost', password: E2E_DEMO_PASSWORD }),
    redirect: 'manual',
  });
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const tickets = await (await fetch(`${baseUrl}/api/my_tickets`, { method: 'POST', headers: { ...headers, cookie } })).json();
  return tickets[0].code;
}

before(async () => {
  server = await startServer({ CLOCK_START: '2027-06-10T13:30:00+02:00' });
  const code = await attendeeCode(server.baseUrl);
  const video = join(server.dataDir, 'ticket.y4m');
  execFileSync(BIN, ['qr-video', code, video]);
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

test('a steward picks a list, scans, sees the counters; an attendee books a workshop seat from their programme', async () => {
  // The steward's phone was left on the workshop's list (kept on the phone).
  const staff = await newPage(camBrowser, { phone: true, baseURL: server.baseUrl });
  await staff.context().grantPermissions(['camera'], { origin: server.baseUrl });
  await login(staff, 'staff@tessera.localhost', E2E_DEMO_PASSWORD);
  await staff.evaluate((id) => localStorage.setItem('tessera.door.list', id), WORKSHOP_LIST);
  await openHydrated(staff, '/scan');
  const refused = staff.locator('.scan-result[data-outcome="NOT_ON_LIST"]');
  await refused.waitFor({ timeout: 20000 });
  assert.match(await refused.locator('.scan-result-title').textContent(), /PAS SUR CETTE LISTE/);
  assert.match(await refused.locator('.scan-list').textContent(), /Atelier Leptos/);
  await shot(staff, 'event-day-not-on-list');
  await refused.click();

  // The entrance: OK, and its counters move.
  await staff.locator('.scan-list-picker select').selectOption(ENTRANCE);
  const ok = staff.locator('.scan-result[data-outcome="OK"]');
  await ok.waitFor({ timeout: 20000 });
  assert.match(await ok.locator('.scan-list').textContent(), /Entrée/);
  await staff.locator('.scan-total[data-checked-in="1"]').waitFor({ timeout: 15000 });
  await shot(staff, 'event-day-entrance-ok');

  // The attendee books a seat from their personal programme.
  const attendee = await newPage(plainBrowser, { phone: true, baseURL: server.baseUrl });
  await login(attendee, 'attendee@tessera.localhost', E2E_DEMO_PASSWORD);
  await openHydrated(attendee, '/');
  const card = attendee.locator('.talk-card', { hasText: 'Atelier Leptos' });
  await card.locator('.save-button').click();
  await card.locator('.save-button.saved').waitFor();
  await openHydrated(attendee, '/me/programme');
  const seat = attendee.locator('.my-talk', { hasText: 'Atelier Leptos' }).locator('.workshop-seat');
  await seat.waitFor();
  assert.equal(await seat.getAttribute('data-left'), '12');
  await seat.locator('.workshop-book').click();
  await attendee.locator('.workshop-seat[data-mine="true"][data-left="11"]').waitFor();
  assert.match(await attendee.locator('.workshop-mine').textContent(), /réservée/);
  await shot(attendee, 'event-day-workshop-booked');

  // Back on the workshop's list: now the same ticket gets in. (Its list is sent at the next sync.)
  await staff.locator('.scan-list-picker select').selectOption(WORKSHOP_LIST);
  const booked = staff.locator('.scan-result[data-outcome="OK"]', { has: staff.locator('.scan-list', { hasText: 'Atelier Leptos' }) });
  await booked.waitFor({ timeout: 20000 });
  await staff.locator('.scan-total[data-checked-in="1"][data-expected="1"]').waitFor({ timeout: 15000 });
  await shot(staff, 'event-day-workshop-ok');
  assert.deepEqual(attendee.errors, []);
  assert.deepEqual(staff.errors.filter((e) => !/422/.test(e)), []);
  await staff.context().close();
  await attendee.context().close();
});

test('the back office makes an in/out list, follows arrivals and prints badges', async () => {
  const admin = await newPage(plainBrowser, { baseURL: server.baseUrl });
  await login(admin, 'admin@tessera.localhost', E2E_DEMO_PASSWORD);
  await openHydrated(admin, '/admin/door');
  const form = admin.locator('.checkin-list-form');
  await form.locator('input[name="name"]').fill('Vestiaire');
  await form.locator('select[name="rule"]').selectOption('INOUT');
  await form.locator('button[type="submit"]').click();
  await admin.locator('.checkin-list-table tr', { hasText: 'Vestiaire' }).waitFor();
  // A list closing before it opens is refused where it was typed.
  await form.locator('input[name="name"]').fill('Soirée');
  await form.locator('input[name="opens_at"]').fill('2027-06-10T20:00');
  await form.locator('input[name="closes_at"]').fill('2027-06-10T19:00');
  await form.locator('button[type="submit"]').click();
  await form.locator('.field-error').waitFor();
  assert.match(await form.locator('.field-error').textContent(), /après l'ouverture/);
  // Arrivals of the day: the entrance's entry of the first test (when run together).
  await admin.locator('.checkin-arrivals-list').first().waitFor();
  await shot(admin, 'event-day-admin-door');
  const res = await admin.request.get('/admin/badges.pdf?sheet=a4');
  assert.equal(res.status(), 200);
  assert.equal(res.headers()['content-type'], 'application/pdf');
  assert.ok((await res.body()).subarray(0, 5).toString() === '%PDF-');
  assert.deepEqual(admin.errors.filter((e) => !/422/.test(e)), []);
  await admin.context().close();
});
