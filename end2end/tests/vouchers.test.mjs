// Vouchers and the waiting list, as a speaker, an attendee and an admin use them: the speaker's
// link unlocks the hidden pass and a 0 € order is paid without a payment page; a sold-out workshop
// offers its waiting list, an added seat is offered by mail, and the offer's link buys the held seat.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, shot, login, holdAnswers, deleteDuringSave, typeIn, DEMO_PASSWORD } from '../helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const SPEAKER_PASS = '.pass-card[data-pass="Pass orateur·rice"]';

test("a speaker's link unlocks the hidden pass and a 0 € order is paid at once", async () => {
  const page = await newPage(browser);
  await login(page, 'attendee@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(page, '/tickets');
  assert.equal(await page.locator(SPEAKER_PASS).count(), 0, 'hidden without the code');

  await openHydrated(page, '/tickets?voucher=orateur-2027');
  await page.locator('.voucher-applied[data-voucher="ORATEUR-2027"]').waitFor();
  const card = page.locator(SPEAKER_PASS);
  assert.match(await card.locator('.pass-price').textContent(), /120,00\s€\s*0,00\s€/);
  await card.locator('.pass-unlocked-badge').waitFor();
  await shot(page, 'shop-voucher');
  await card.locator('input[type="number"]').fill('1');
  await page.click('.pay-button');
  await page.waitForURL(/\/orders\/[0-9a-f-]+\/confirmation$/);
  await page.locator('.confirmation-paid').waitFor();

  await openHydrated(page, '/me/orders');
  assert.match(await page.locator('.order .order-voucher').first().textContent(), /ORATEUR-2027/);
  await openHydrated(page, '/me/tickets');
  await page.locator('article.ticket[data-status="VALID"]', { hasText: 'Pass orateur·rice' }).first().waitFor();

  // A code that does not exist is refused in words, where it was typed.
  await openHydrated(page, '/tickets?voucher=NOPE-NOPE');
  assert.match(await page.locator('.voucher-box .field-error').textContent(), /inconnu, expiré ou déjà entièrement utilisé/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

async function setCapacity(admin, pass, n) {
  await openHydrated(admin, '/admin/tickets');
  const cell = admin.locator(`tr[data-pass="${pass}"] td[data-field="capacity"]`);
  await cell.click();
  await cell.locator('input').fill(String(n));
  await cell.locator('input').press('Enter');
  await admin.waitForFunction((p) => !document.querySelector(`tr[data-pass="${p}"] td[data-field="capacity"].cell-saving`), pass);
  assert.match(await cell.textContent(), new RegExp(`^${n}\\b`));
}

test('a sold-out workshop offers its waiting list, and the offer link buys the held seat', async () => {
  const admin = await newPage(browser);
  await login(admin, 'admin@tessera.localhost', DEMO_PASSWORD);
  await setCapacity(admin, 'Atelier Leptos', 0);

  const page = await newPage(browser);
  await login(page, 'attendee@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(page, '/tickets');
  const workshop = page.locator('.pass-card[data-pass="Atelier Leptos"]');
  await workshop.locator('.waitlist-join').click();
  assert.match(await workshop.locator('.waitlist-position').textContent(), /n° 1/);
  await shot(page, 'shop-waitlist');

  // A seat is added: it goes to the list, by mail, and is held.
  await setCapacity(admin, 'Atelier Leptos', 1);
  await openHydrated(admin, '/dev/mailbox');
  await admin.locator('article.mail[data-kind="WAITLIST_OFFER"]').first().waitFor();
  await openHydrated(admin, '/admin/waitlist');
  await admin.locator('section.waitlist-pass[data-pass="Atelier Leptos"] tr[data-status="OFFERED"][data-email="attendee@tessera.localhost"]').waitFor();
  await shot(admin, 'admin-waitlist');

  await openHydrated(page, '/tickets');
  await workshop.locator('.waitlist-offered').waitFor();
  await workshop.locator('.waitlist-take').click();
  await page.waitForURL(/\/tickets\?voucher=[A-Z0-9]+$/);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.locator('.voucher-applied').waitFor();
  await workshop.locator('input[type="number"]').fill('1');
  await page.click('.pay-button');
  await page.waitForURL(/\/checkout\/test\//);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.click('button[data-outcome="pay"]');
  await page.locator('.confirmation-paid').waitFor();
  await openHydrated(page, '/tickets');
  assert.equal(await workshop.locator('.waitlist-offered, .waitlist-position').count(), 0, 'bought: off the list');
  assert.deepEqual(page.errors, []);

  // The back office lists the speakers' code with its use, and the spent offer.
  await openHydrated(admin, '/admin/vouchers');
  await admin.locator('tr[data-voucher="ORATEUR-2027"]').waitFor();
  await admin.locator('tr.voucher-personal').first().waitFor();
  await shot(admin, 'admin-vouchers');
  assert.deepEqual(admin.errors, []);
  await page.context().close();
  await admin.context().close();
});

test('an admin creates a batch of vouchers, is told a wrong percentage under its field, and deletes a code just edited on a slow network', async () => {
  const admin = await newPage(browser);
  admin.on('dialog', (d) => d.accept());
  await login(admin, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(admin, '/admin/vouchers');
  const form = admin.locator('form.voucher-create');
  await form.locator('input[name="count"]').fill('2');
  await form.locator('input[name="tag"]').fill('presse-2027');
  await form.locator('input[name="value"]').fill('150');
  await form.locator('button[type="submit"]').click();
  // The refusal stands under the value the admin typed, not at the foot of the form.
  const valueError = form.locator('.field:has(input[name="value"]) .field-error');
  await valueError.waitFor();
  assert.match(await valueError.textContent(), /Pourcentage invalide/);
  assert.equal(await form.locator('.field-error').count(), 1);
  await shot(admin, 'admin-voucher-form-refused');

  await form.locator('input[name="value"]').fill('20');
  await form.locator('button[type="submit"]').click();
  await admin.locator('.voucher-created').waitFor();
  assert.match(await admin.locator('.voucher-created').textContent(), /2 bon\(s\) créé\(s\)/);
  assert.equal(await form.locator('.field-error').count(), 0);
  const batch = admin.locator('tbody tr', { has: admin.locator('td[data-field="tag"]', { hasText: /^\s*presse-2027\s*$/ }) });
  assert.equal(await batch.count(), 2);
  const code = await batch.first().getAttribute('data-voucher');
  const row = admin.locator(`tr[data-voucher="${code}"]`);

  // The tag's save is made on the server, its answer not back yet: deleting the voucher meanwhile
  // waits for that answer and goes with the version it got (the admin's own save is not taken for
  // someone else's change).
  await deleteDuringSave(admin, {
    save: 'admin_update_voucher', del: 'admin_delete_voucher', row,
    cell: row.locator('td[data-field="tag"]'), value: 'presse-2027-bis', button: row.locator('.delete-voucher'),
  });
  await openHydrated(admin, '/admin/vouchers');
  await admin.locator('tbody tr').first().waitFor();
  assert.equal(await row.count(), 0, 'deleted for real');
  assert.equal(await batch.count(), 1, 'the other code of the batch stays');

  // The other one: edited, deleted, and the admin goes on to another back-office page before the
  // save's answer is back. The delete still goes when it comes, and nothing breaks.
  const other = admin.locator(`tr[data-voucher="${await batch.first().getAttribute('data-voucher')}"]`);
  const held2 = await holdAnswers(admin, 'admin_update_voucher');
  await typeIn(other.locator('td[data-field="tag"]'), 'presse-2027-ter');
  await held2.landed;
  await other.locator('.delete-voucher').click();
  await admin.click('a[href="/admin/tickets"]');
  await admin.waitForURL(/\/admin\/tickets$/);
  const deleted = admin.waitForResponse((r) => r.url().includes('/api/admin_delete_voucher'));
  held2.release();
  assert.equal((await deleted).status(), 200);
  await admin.unroute('**/api/admin_update_voucher*');
  await openHydrated(admin, '/admin/vouchers');
  await admin.locator('tbody tr').first().waitFor();
  assert.equal(await other.count(), 0, 'deleted after leaving the page');
  assert.deepEqual(admin.errors.filter((e) => !/status of 422/.test(e)), []);
  await admin.context().close();
});
