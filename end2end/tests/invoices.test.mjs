// Invoices as a company buyer and an admin use them: the company's details at checkout (a malformed
// VAT number refused on its field), the invoice PDF downloaded from /me/orders, a refund in the back
// office, and its credit note downloaded and listed in /admin/invoices.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, newPage, openHydrated, shot, login, DEMO_PASSWORD } from '../helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Clicks a link that downloads a file; returns its suggested name and its first bytes. */
async function download(page, link) {
  const [file] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const bytes = await readFile(await file.path());
  return { name: file.suggestedFilename(), head: bytes.subarray(0, 5).toString('latin1'), size: bytes.length };
}

test('a company buys a pass, downloads its invoice, is refunded and downloads the credit note', async () => {
  const buyer = await newPage(browser);
  await login(buyer, 'attendee@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(buyer, '/tickets');
  await buyer.locator('.pass-card[data-pass="Pass Jour 2"] input[type="number"]').fill('1');
  await buyer.locator('.checkout-billing summary').click();
  await buyer.fill('input[name="billing[company]"]', 'ACME Conseil SAS');
  await buyer.fill('textarea[name="billing[address]"]', '8 rue de la Paix\n75002 Paris');
  await buyer.fill('input[name="billing[country]"]', 'FR');
  await buyer.fill('input[name="billing[vat_number]"]', 'FR123');
  await buyer.fill('input[name="billing[reference]"]', 'PO-4521');
  await buyer.click('.pay-button');
  const vatError = buyer.locator('.field-error[data-field="billing[vat_number]"]');
  await vatError.waitFor();
  assert.match(await vatError.textContent(), /format attendu/);
  await shot(buyer, 'checkout-billing');

  await buyer.fill('input[name="billing[vat_number]"]', 'FR 83 404 833 048');
  await buyer.click('.pay-button');
  await buyer.waitForURL(/\/checkout\/test\//);
  await buyer.waitForSelector('body[data-hydrated="true"]');
  await buyer.click('button[data-outcome="pay"]');
  const paid = buyer.locator('.confirmation-paid');
  await paid.waitFor();
  const order = await paid.getAttribute('data-order');

  await openHydrated(buyer, '/me/orders');
  const card = buyer.locator(`article.order[data-order="${order}"]`);
  const invoiceLink = card.locator('a.invoice-link:not(.credit-note)');
  await invoiceLink.waitFor();
  const invoice = await download(buyer, invoiceLink);
  assert.match(invoice.name, /^F-\d{4}-\d{5}\.pdf$/);
  assert.equal(invoice.head, '%PDF-');
  assert.ok(invoice.size > 2000, `a real document (${invoice.size} bytes)`);
  await shot(buyer, 'orders-invoice');

  const admin = await newPage(browser);
  admin.on('dialog', (d) => d.accept());
  await login(admin, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(admin, `/admin/orders?q=${order}`);
  await admin.locator(`tr[data-order="${order}"] button.button-danger`).click();
  await admin.locator(`tr[data-order="${order}"][data-status="REFUNDED"]`).waitFor();

  await openHydrated(admin, '/admin/invoices?q=ACME');
  const number = invoice.name.replace(/\.pdf$/, '');
  await admin.locator(`tr[data-number="${number}"]`).waitFor();
  await admin.locator('tr.credit-note').first().waitFor();
  await shot(admin, 'admin-invoices');

  await openHydrated(buyer, '/me/orders');
  const creditLink = card.locator('a.invoice-link.credit-note');
  await creditLink.waitFor();
  const credit = await download(buyer, creditLink);
  assert.match(credit.name, /^AV-\d{4}-\d{5}\.pdf$/);
  assert.equal(credit.head, '%PDF-');
  // The one refused VAT number is the only error the console saw.
  assert.deepEqual(buyer.errors.filter((e) => !/status of 422/.test(e)), []);
  await buyer.context().close();
  await admin.context().close();
});
