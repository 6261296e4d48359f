// Vouchers and the waiting list, as a speaker, an attendee and an admin use them: the speaker's
// link unlocks the hidden pass and a 0 € order is paid without a payment page; a sold-out workshop
// offers its waiting list, an added seat is offered by mail, and the offer's link buys the held seat.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, shot, login, DEMO_PASSWORD } from '../helpers.mjs';

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
