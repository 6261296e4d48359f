// Buying passes in test mode, in a real browser: shop → test checkout → confirmation → tickets with
// QR codes that decode to the ticket's signed code → both mails in the dev mailbox (read by the demo admin).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { launch, newPage, openHydrated, shot, login, DEMO_PASSWORD } from '../helpers.mjs';

const require = createRequire(import.meta.url);
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('buy 2 × Pass 2 jours in test mode and get 2 tickets whose QR codes decode to their signed codes', async () => {
  const page = await newPage(browser, { bypassCSP: true });
  await login(page, 'attendee@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(page, '/tickets');
  const card = page.locator('.pass-card[data-pass="Pass 2 jours"]');
  assert.match(await card.locator('.pass-price').textContent(), /120,00\s€/);
  assert.match(await card.locator('.pass-availability').textContent(), /Encore \d+ places/);

  // Too many tickets in one order first (6 + 5 > 10): the server's message shows, nothing is lost.
  const day1 = page.locator('.pass-card[data-pass="Pass Jour 1"] input[type="number"]');
  await card.locator('input[type="number"]').fill('6');
  await day1.fill('5');
  await page.click('.pay-button');
  await page.locator('.form-error, .field-error').first().waitFor();
  assert.match(await page.locator('.form-error, .field-error').first().textContent(), /plus de billets/);
  assert.equal(await day1.inputValue(), '5');
  await day1.fill('0');
  await card.locator('input[type="number"]').fill('2');
  await shot(page, 'shop');
  await page.click('.pay-button');

  await page.waitForURL(/\/checkout\/test\/cs_test_tessera_/);
  await page.waitForSelector('body[data-hydrated="true"]');
  assert.match(await page.locator('.test-banner').textContent(), /MODE TEST/);
  assert.match(await page.locator('.order-total').textContent(), /240,00\s€/);
  await shot(page, 'test-checkout');
  await page.click('button[data-outcome="pay"]');

  await page.waitForURL(/\/orders\/[0-9a-f-]{36}\/confirmation$/);
  await page.locator('.confirmation-paid').waitFor();
  await shot(page, 'confirmation');
  await page.click('.confirmation-paid a[href="/me/tickets"]');
  await page.waitForURL(/\/me\/tickets$/);
  const tickets = page.locator('article.ticket[data-status="VALID"]');
  await tickets.first().waitFor();
  assert.ok(await tickets.count() >= 2);
  await shot(page, 'tickets');

  // Decode each QR code from its SVG as a scanner would see it, and compare with the ticket's token.
  await page.addScriptTag({ path: require.resolve('jsqr/dist/jsQR.js') });
  const decoded = await page.evaluate(async () => {
    const out = [];
    for (const t of document.querySelectorAll('article.ticket[data-status="VALID"]')) {
      const svg = t.querySelector('.ticket-qr svg').outerHTML;
      const img = new Image();
      img.src = 'data:image/svg+xml;base64,' + btoa(svg);
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = 400; canvas.height = 400;
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, 400, 400);
      ctx.drawImage(img, 0, 0, 400, 400);
      const data = ctx.getImageData(0, 0, 400, 400);
      const code = window.jsQR(data.data, 400, 400);
      out.push({ expected: t.dataset.code, got: code && code.data });
    }
    return out;
  });
  assert.ok(decoded.length >= 2);
  for (const { expected, got } of decoded) {
    assert.ok(expected && expected.length === 151, 'a signed code');
    assert.equal(got, expected, 'the QR code carries the ticket\'s signed code');
  }

  // Both mails, the tickets one with a QR code per ticket (the dev mailbox is for admins only).
  const mailbox = await newPage(browser);
  await login(mailbox, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(mailbox, '/dev/mailbox');
  const mails = mailbox.locator('article.mail[data-to="attendee@tessera.localhost"]');
  await mailbox.locator('article.mail[data-kind="TICKET_SENT"]').first().waitFor();
  assert.ok(await mails.locator('xpath=self::*[@data-kind="ORDER_CONFIRMED"]').count() >= 1);
  const html = await mailbox.locator('article.mail[data-kind="TICKET_SENT"] iframe').first().getAttribute('srcdoc');
  assert.ok((html.match(/class="ticket-qr"/g) || []).length >= 2, 'one QR image per ticket in the mail');
  assert.deepEqual(page.errors.filter((e) => !/40[13]|422/.test(e)), []);
});
