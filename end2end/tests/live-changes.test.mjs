// Live programme changes, on a server of its own (the admin moves a demo talk, which other tests
// rely on) whose change mails go out without delay: the demo attendee asks to be mailed, saves two
// talks; an admin moves one of them inline; the attendee's programme says "moved from 10:00" and
// the room it had, shows rooms as columns on a wide screen and a list on a phone, and one mail
// arrives in the dev mailbox.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, shot, login } from '../helpers.mjs';
import { startServer, E2E_DEMO_PASSWORD } from '../server.mjs';

let server;
let browser;
before(async () => {
  server = await startServer({ PROGRAMME_MAIL_DELAY_MINUTES: '0' });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const card = (page, title) => page.locator('.talk-card', { hasText: title });
const mine = (page, title) => page.locator('.my-talk', { has: page.locator('.my-title', { hasText: title }) });

test('a talk moved by an admin is marked on the attendee programme, in columns, and mailed once', async () => {
  const base = server.baseUrl;
  const page = await newPage(browser, { baseURL: base });
  await login(page, 'attendee@tessera.localhost', E2E_DEMO_PASSWORD);

  // Two talks of day 1 in two rooms, at overlapping times.
  await openHydrated(page, '/');
  for (const title of ['Rust en production', 'Atelier : accessibilité web']) {
    await card(page, title).locator('.save-button').click();
    await page.waitForFunction((t) => [...document.querySelectorAll('.talk-card')].find((c) => c.textContent.includes(t))?.querySelector('.save-button.saved'), title);
  }
  // The attendee asks to be mailed about changes.
  await openHydrated(page, '/me/programme');
  await page.locator('.change-mail button').click();
  await page.waitForFunction(() => /Vous recevez un e-mail/.test(document.querySelector('.change-mail-state')?.textContent ?? ''));

  // An admin moves the Rust talk by a quarter of an hour and into another room.
  const admin = await newPage(browser, { baseURL: base });
  await login(admin, 'admin@tessera.localhost', E2E_DEMO_PASSWORD);
  await openHydrated(admin, '/admin/programme');
  const row = admin.locator('tr', { hasText: 'Rust en production' });
  const start = row.locator('td[data-field="start_at"]');
  await start.click();
  await start.locator('input').fill('2027-06-10T10:15');
  await start.locator('input').press('Enter');
  await admin.waitForFunction(() => !document.querySelector('.talks-table .cell-saving'));
  const room = row.locator('td[data-field="location"]');
  await room.click();
  await room.locator('input').fill('Salle Rivière');
  await room.locator('input').press('Enter');
  await admin.waitForFunction(() => !document.querySelector('.talks-table .cell-saving'));
  await row.locator('td[data-field="location"]', { hasText: 'Salle Rivière' }).waitFor();

  // The attendee's programme shows what changed.
  await openHydrated(page, '/me/programme');
  const moved = page.locator('.my-talk.moved');
  await moved.waitFor();
  assert.equal(await moved.count(), 1);
  const note = await moved.locator('.moved-note').textContent();
  assert.match(note, /Déplacée : avant 10:00–10:45/);
  assert.match(note, /Changement de salle : avant Salle Lumière/);
  assert.match(await moved.locator('.my-time').textContent(), /10:15/);

  // Wide screen: one column per room, the two overlapping talks side by side.
  assert.equal(await page.locator('.my-day .room-head:visible').count(), 2);
  const rust = await moved.boundingBox();
  const workshop = await mine(page, 'Atelier : accessibilité web').boundingBox();
  assert.ok(Math.abs(rust.x - workshop.x) > 100, `rooms are columns: x ${rust.x} vs ${workshop.x}`);
  assert.ok(rust.y < workshop.y + workshop.height && workshop.y < rust.y + rust.height, 'overlapping times share rows');
  await shot(page, 'my-programme-wide-moved');

  // Phone: a list, no room headings.
  await page.setViewportSize({ width: 390, height: 844 });
  assert.equal(await page.locator('.my-day .room-head:visible').count(), 0);
  const [a, b] = [await moved.boundingBox(), await mine(page, 'Atelier').boundingBox()];
  assert.ok(Math.abs(a.x - b.x) < 2, 'one column on a phone');
  await shot(page, 'my-programme-phone-moved');

  // One mail, in the dev mailbox (the admin reads it), within the batcher's period (30 s).
  await openHydrated(admin, '/dev/mailbox');
  const mail = admin.locator('.mail[data-kind="PROGRAMME_CHANGED"][data-to="attendee@tessera.localhost"]');
  for (let i = 0; i < 45 && (await mail.count()) === 0; i++) {
    await admin.waitForTimeout(1000);
    await admin.reload();
  }
  assert.equal(await mail.count(), 1);
  const text = await mail.locator('.mail-text').textContent();
  assert.match(text, /Rust en production/);
  assert.match(text, /désormais jeudi 10 juin, 10:15–10:45, Salle Rivière/);
  assert.deepEqual([...page.errors, ...admin.errors].filter((e) => !/40[13]|422/.test(e)), []);
});
