// The passes editor as an admin uses it: click a cell, type, Enter saves; a refused value is put
// back with the reason in the cell; Escape cancels.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, shot, login, deleteDuringSave, typeIn, DEMO_PASSWORD } from '../helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Each save of a talk takes `ms` to reach the server: a slow network. */
function slowSaves(page, ms) {
  return page.route('**/api/admin_update_talk*', async (route) => {
    await new Promise((r) => setTimeout(r, ms));
    await route.continue();
  });
}

/** Waits until no cell of the talks' table is saving. */
const allSaved = (page) => page.waitForFunction(() => !document.querySelector('.talks-table .cell-saving'));

test('an admin edits a price inline and is refused a capacity below the seats sold', async () => {
  const page = await newPage(browser);
  await login(page, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(page, '/admin/tickets');
  const day2 = page.locator('tr[data-pass="Pass Jour 2"]');
  const price = day2.locator('td[data-field="price"]');
  assert.match(await price.textContent(), /70,00\s€/);
  await typeIn(price, '72,50');
  await page.waitForFunction(() => !document.querySelector('tr[data-pass="Pass Jour 2"] td[data-field="price"].cell-saving'));
  assert.match(await price.textContent(), /72,50\s€/);

  // Escape cancels an edit.
  const name = day2.locator('td[data-field="name"]');
  await name.click();
  await name.locator('input').fill('Autre nom');
  await name.locator('input').press('Escape');
  assert.equal((await name.textContent()).trim(), 'Pass Jour 2');

  // The demo attendee holds a Pass Jour 1: its capacity cannot go to 0.
  const capacity = page.locator('tr[data-pass="Pass Jour 1"] td[data-field="capacity"]');
  await typeIn(capacity, '0');
  await capacity.locator('.field-error').waitFor();
  assert.match(await capacity.locator('.field-error').textContent(), /places déjà vendues ou réservées/);
  await capacity.locator('input').press('Escape');
  assert.match(await capacity.textContent(), /^150 \(1 vendues/);
  await shot(page, 'admin-passes');

  // Saved for real: a reload shows the new price.
  await openHydrated(page, '/admin/tickets');
  assert.match(await page.locator('tr[data-pass="Pass Jour 2"] td[data-field="price"]').textContent(), /72,50\s€/);
  // The refused save is a 422 the browser logs; nothing else went wrong.
  assert.deepEqual(page.errors.filter((e) => !/status of 422/.test(e)), []);
  await page.context().close();
});

test('an admin sees who holds a ticket and downloads the attendees CSV', async () => {
  const { readFileSync } = await import('node:fs');
  const page = await newPage(browser);
  await login(page, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(page, '/admin/attendees');
  const anne = page.locator('.attendees-table tr', { hasText: 'Anne Participante' });
  await anne.first().waitFor();
  assert.match(await anne.first().textContent(), /Pass Jour 1/);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('a[href="/admin/export/attendees.csv"]'),
  ]);
  assert.equal(download.suggestedFilename(), 'attendees.csv');
  const csv = readFileSync(await download.path(), 'utf8');
  assert.match(csv, /^\uFEFFticket_id,holder,email,buyer_email,pass,status,checked_in_at,order_id\r\n/);
  assert.match(csv, /Anne Participante,attendee@tessera\.localhost,attendee@tessera\.localhost,Pass Jour 1,VALID/);
  await shot(page, 'admin-attendees');
  await page.context().close();
});

test('the audit log shows the price change with before and after, filtered by action; mails are listed', async () => {
  const page = await newPage(browser);
  await login(page, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(page, '/admin/audit');
  await page.selectOption('select[name="action"]', 'UPDATE_PRICE');
  await page.click('.audit-filters button[type="submit"]');
  await page.waitForURL(/action=UPDATE_PRICE/);
  const rows = page.locator('.audit-table tbody tr');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 1);
  const meta = await rows.first().locator('dl.meta').textContent();
  assert.match(meta, /after7250/);
  assert.match(meta, /before7000/);
  await shot(page, 'admin-audit');

  await openHydrated(page, '/admin/mail');
  const sent = page.locator('.mail-table tr[data-status="SENT"]');
  await sent.first().waitFor();
  assert.ok(await sent.count() >= 2, 'the demo order mails went out');
  await page.context().close();
});

test('an admin adds a talk, moves it onto a busy room and sees the overlap, then deletes it', async () => {
  const page = await newPage(browser);
  let answer = 'accept';
  page.on('dialog', (d) => d[answer]());
  await login(page, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(page, '/admin/programme');
  const before = await page.locator('.talks-table tbody tr').count();
  await page.click('.add-talk');
  const row = page.locator('tr[data-talk="Nouvelle intervention"]');
  await row.waitFor();

  // A slow venue network: each save takes 400 ms to reach the server. The admin types the title,
  // presses Enter and goes straight on to the start time; both cells are saved, the second is not
  // refused as "changed meanwhile" by the admin's own first save.
  await slowSaves(page, 400);
  const title = row.locator('td[data-field="title"]');
  await typeIn(title, 'Atelier surprise');
  const renamed = page.locator('tr[data-talk="Atelier surprise"]');
  await renamed.waitFor();

  const start = renamed.locator('td[data-field="start_at"]');
  await typeIn(start, '2027-06-11T16:30');
  await allSaved(page);
  assert.equal(await renamed.locator('.field-error').count(), 0, 'neither save is refused');
  await page.unroute('**/api/admin_update_talk*');
  const room = renamed.locator('td[data-field="location"]');
  await typeIn(room, 'Amphithéâtre');
  await renamed.locator('.overlap-warning').waitFor();
  assert.match(await renamed.locator('.overlap-warning').textContent(), /Clôture : récits de quartiers/);
  await shot(page, 'admin-programme');
  // All three were saved: a fresh load of the page shows them.
  await openHydrated(page, '/admin/programme');
  assert.equal(await start.locator('.cell-value').textContent(), '2027-06-11 16:30');
  assert.equal(await room.locator('.cell-value').textContent(), 'Amphithéâtre');

  // An end before the start is refused in the cell.
  const end = renamed.locator('td[data-field="end_at"]');
  await typeIn(end, '2027-06-11T16:00');
  await end.locator('.field-error').waitFor();
  assert.match(await end.locator('.field-error').textContent(), /fin doit venir après le début/);
  await end.locator('input').press('Escape');

  // Reloading while a save is on its way asks first; staying, the save goes through.
  await slowSaves(page, 800);
  const speaker = renamed.locator('td[data-field="speaker_name"]');
  await typeIn(speaker, 'Camille Dupont');
  answer = 'dismiss';
  const asked = page.waitForEvent('dialog');
  await page.evaluate(() => { setTimeout(() => location.reload(), 0); });
  assert.equal((await asked).type(), 'beforeunload');
  answer = 'accept';
  await allSaved(page);
  await page.unroute('**/api/admin_update_talk*');
  await openHydrated(page, '/admin/programme');
  assert.equal(await speaker.locator('.cell-value').textContent(), 'Camille Dupont');

  // Deleted just after a save the server has made but whose answer is not back yet: the delete
  // waits for that answer and goes with the version it got (not refused as someone else's change).
  await deleteDuringSave(page, {
    save: 'admin_update_talk', del: 'admin_delete_talk', row: renamed,
    cell: speaker, value: 'Camille Martin', button: renamed.locator('button.button-danger'),
  });
  await openHydrated(page, '/admin/programme');
  assert.equal(await page.locator('.talks-table tbody tr').count(), before);
  assert.deepEqual(page.errors.filter((e) => !/status of 422/.test(e)), []);
  await page.context().close();
});

test('two admins edit one talk: the second one\'s quick edits are each refused once, with a reload link', async () => {
  const page = await newPage(browser);
  page.on('dialog', (d) => d.accept());
  await login(page, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(page, '/admin/programme');
  await page.click('.add-talk');
  await page.locator('tr[data-talk="Nouvelle intervention"] td[data-field="title"]').click();
  await page.locator('tr[data-talk="Nouvelle intervention"] td[data-field="title"] input').fill('Atelier à deux');
  await page.keyboard.press('Enter');
  const row = page.locator('tr[data-talk="Atelier à deux"]');
  await allSaved(page);

  // The other admin changes its theme.
  const other = await newPage(browser);
  await login(other, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(other, '/admin/programme');
  const theme = other.locator('tr[data-talk="Atelier à deux"] td[data-field="theme"]');
  await typeIn(theme, 'Autre thème');
  await allSaved(other);
  await other.context().close();

  // The first admin, on a slow network, types a room and a speaker: both are refused (the talk
  // changed since the page was loaded), each cell says so once; leaving them sends nothing more.
  let sent = 0;
  page.on('request', (r) => { if (r.url().includes('admin_update_talk')) sent += 1; });
  await slowSaves(page, 400);
  for (const [field, value] of [['location', 'Salle B'], ['speaker_name', 'Camille']]) {
    const cell = row.locator(`td[data-field="${field}"]`);
    await typeIn(cell, value);
  }
  await allSaved(page);
  await page.locator('h1').click();
  await page.waitForTimeout(1500);
  assert.equal(sent, 2, 'one request per edit, none resent');
  assert.equal(await row.locator('.field-error').count(), 2);
  assert.match(await row.locator('td[data-field="location"] .field-error').textContent(), /modifié cette ligne entre-temps/);
  await page.unroute('**/api/admin_update_talk*');

  // The reload link shows the other admin's change; the talk goes.
  await row.locator('td[data-field="location"] .field-error a').click();
  await page.waitForSelector('body[data-hydrated="true"]');
  assert.equal(await row.locator('td[data-field="theme"] .cell-value').textContent(), 'Autre thème');
  await row.locator('button.button-danger').click();
  await row.waitFor({ state: 'detached' });
  assert.deepEqual(page.errors.filter((e) => !/status of 422/.test(e)), []);
  await page.context().close();
});

test('an admin opens an order, sends its tickets again and reissues a QR code', async () => {
  const page = await newPage(browser);
  page.on('dialog', (d) => d.accept());
  await login(page, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(page, '/admin/orders?q=attendee%40tessera.localhost');
  const order = page.locator('tr[data-email="attendee@tessera.localhost"][data-status="PAID"]').first();
  await order.locator('.order-open').click();
  const panel = page.locator('.order-detail');
  await panel.locator('.order-tickets li').first().waitFor();
  assert.match(await panel.locator('.order-tickets').textContent(), /Anne Participante · Pass Jour 1/);
  // The demo order was paid without a payment provider: no payment line to show.
  assert.equal(await panel.locator('.order-payments li').count(), 0);
  await panel.locator('.resend-tickets').click();
  await panel.locator('.notice-success').waitFor();
  assert.match(await panel.locator('.notice-success').textContent(), /repart/);
  await panel.locator('button.reissue').first().click();
  await page.waitForFunction(() => /ancien ne passe plus/.test(document.querySelector('.order-detail .notice-success')?.textContent ?? ''));
  await shot(page, 'admin-order-detail');
  await page.context().close();
});

test('an admin edits a talk with the keyboard, writes its description with a preview, duplicates it; the dashboard draws its charts', async () => {
  const page = await newPage(browser);
  page.on('dialog', (d) => d.accept());
  await login(page, 'admin@tessera.localhost', DEMO_PASSWORD);

  // The dashboard: figures and SVG charts, in the server's HTML already.
  const html = await (await page.request.get('/admin')).text();
  assert.ok((html.match(/<svg/g) || []).length >= 3, 'charts are drawn on the server');
  await openHydrated(page, '/admin');
  assert.ok(Number(await page.locator('[data-figure="tickets"]').textContent()) >= 1, 'the demo order is counted');
  for (const chart of ['tickets-per-day', 'revenue-per-day', 'fill']) {
    await page.locator(`[data-chart="${chart}"] svg`).waitFor();
  }
  assert.equal(await page.locator('.fill-row').count(), 5, 'one bar per pass (the demo has five, the speakers\' hidden one included)');
  await shot(page, 'admin-dashboard');

  // A new talk, edited from the keyboard only: Enter edits, Enter saves, arrows move.
  await openHydrated(page, '/admin/programme');
  await page.click('.add-talk');
  const row = page.locator('tr[data-talk="Nouvelle intervention"]');
  await row.waitFor();
  await row.locator('td[data-field="title"]').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('Atelier clavier');
  await page.keyboard.press('Enter');
  const edited = page.locator('tr[data-talk="Atelier clavier"]');
  await edited.waitFor();
  await allSaved(page);
  await edited.locator('td[data-field="title"]').focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.field), 'start_at');
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.field), 'start_at', 'up keeps the column');
  assert.notEqual(await page.evaluate(() => document.activeElement?.closest('tr')?.dataset.talk), 'Atelier clavier');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await edited.locator('td[data-field="start_at"] input').fill('2027-06-11T17:00');
  await page.keyboard.press('Enter');
  await allSaved(page);

  // The description, in the side panel, previewed as attendees will read it.
  await edited.locator('.edit-description').click();
  const panel = page.locator('.description-panel');
  await panel.locator('textarea').fill('Premier paragraphe.\n\nSecond paragraphe.');
  await page.waitForFunction(() => document.querySelectorAll('.description-preview p').length === 2);
  await shot(page, 'admin-description-panel');
  await panel.locator('.save-description').click();
  await panel.waitFor({ state: 'detached' });

  // Reloaded: everything was saved.
  await openHydrated(page, '/admin/programme');
  const saved = page.locator('tr[data-talk="Atelier clavier"]');
  await saved.waitFor();
  assert.match(await saved.locator('td[data-field="start_at"]').textContent(), /17:00/);
  await saved.locator('.edit-description').click();
  assert.equal(await page.locator('.description-panel textarea').inputValue(), 'Premier paragraphe.\n\nSecond paragraphe.');
  await page.locator('.description-panel .button-secondary').click();

  // Duplicated next to the original, then both deleted.
  await saved.locator('.duplicate-talk').click();
  const copy = page.locator('tr[data-talk="Atelier clavier (copie)"]');
  await copy.waitFor();
  assert.match(await copy.locator('td[data-field="start_at"]').textContent(), /17:00/);
  await copy.locator('button.button-danger').click();
  await copy.waitFor({ state: 'detached' });
  await saved.locator('button.button-danger').click();
  await saved.waitFor({ state: 'detached' });
  assert.deepEqual(page.errors.filter((e) => !/status of 422/.test(e)), []);
  await page.context().close();
});
