// An admin refunds a test-mode order from the back office; the buyer's tickets are canceled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, shot, login, DEMO_PASSWORD } from '../helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('refund a paid test-mode order from /admin/orders and see its tickets canceled', async () => {
  const buyer = await newPage(browser);
  await login(buyer, 'attendee@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(buyer, '/tickets');
  await buyer.locator('.pass-card[data-pass="Pass Jour 2"] input[type="number"]').fill('1');
  await buyer.click('.pay-button');
  await buyer.waitForURL(/\/checkout\/test\//);
  await buyer.waitForSelector('body[data-hydrated="true"]');
  await buyer.click('button[data-outcome="pay"]');
  const paid = buyer.locator('.confirmation-paid');
  await paid.waitFor();
  const order = await paid.getAttribute('data-order');

  const admin = await newPage(browser);
  admin.on('dialog', (d) => d.accept());
  await login(admin, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(admin, `/admin/orders?q=${order}`);
  const row = admin.locator(`tr[data-order="${order}"]`);
  assert.equal(await row.getAttribute('data-status'), 'PAID');
  await row.locator('button.button-danger').click();
  await admin.locator(`tr[data-order="${order}"][data-status="REFUNDED"]`).waitFor();
  await shot(admin, 'admin-orders-refunded');

  await openHydrated(buyer, '/me/tickets');
  await buyer.locator('article.ticket[data-status="CANCELED"]').first().waitFor();
  await openHydrated(admin, '/dev/mailbox');
  await admin.locator('article.mail[data-kind="ORDER_REFUNDED"]').first().waitFor();
});
