// Personal data, as a person and an admin would use it: buy a pass, download my data (the file
// parses and holds my paid order), change my marketing choice (the history shows it), delete my
// account (my valid ticket is cancelled after a confirmation), then log in again → refused. The
// admin's Privacy page shows the policy and a dry run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, newPage, openHydrated, shot, login, DEMO_PASSWORD } from '../helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const PASSWORD = 'une phrase de passe solide';

async function signUp(page, email) {
  await openHydrated(page, '/signup');
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', PASSWORD);
  await page.fill('input[name="first_name"]', 'Inès');
  await page.fill('input[name="last_name"]', 'Oubliée');
  await page.check('input[name="terms"]');
  await page.check('input[name="privacy"]');
  await page.click('button[type="submit"]');
  await page.waitForURL(/\/signup\/sent$/);
}

test('download my data, change my marketing choice, delete my account, and be refused at login', async () => {
  const page = await newPage(browser);
  const email = `ines.${Date.now()}@example.org`;
  await signUp(page, email);
  await login(page, email, PASSWORD);

  // Buy one pass in test mode.
  await openHydrated(page, '/tickets');
  await page.locator('.pass-card[data-pass="Pass Jour 1"] input[type="number"]').fill('1');
  await page.click('.pay-button');
  await page.waitForURL(/\/checkout\/test\/cs_test_tessera_/);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.click('button[data-outcome="pay"]');
  await page.locator('.confirmation-paid').waitFor();

  // Download my data: one JSON file with my profile and my paid order, nobody else's.
  await openHydrated(page, '/account');
  await page.locator('.privacy-section .consent-history li').first().waitFor();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('.privacy-section a[href="/me/data.json"]'),
  ]);
  const data = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(data.format, 'tessera-personal-data/1');
  assert.equal(data.profile.email, email);
  assert.equal(data.orders.length, 1);
  assert.equal(data.orders[0].status, 'PAID');
  assert.equal(data.orders[0].total_cents, 7000);
  assert.ok(data.consents.length >= 2, 'terms and privacy consents are in the file');
  assert.ok(!JSON.stringify(data).includes('attendee@tessera.localhost'), 'no one else is in my file');

  // Marketing: I had said no at sign-up; I say yes, and the history keeps both.
  const before = await page.locator('.consent-history li').count();
  await page.click('.marketing-form button[data-marketing="false"]');
  await page.locator('.marketing-form button[data-marketing="true"]').waitFor();
  assert.equal(await page.locator('.consent-history li').count(), before + 1);
  assert.match(await page.locator('.consent-history li').first().textContent(), /Actualités par e-mail acceptées/);
  await shot(page, 'privacy-account');

  // Delete: my valid ticket for the coming event must be given up knowingly.
  const form = page.locator('.delete-account-form');
  assert.match(await form.locator('.notice-warning').textContent(), /1/);
  await form.locator('input[name="password"]').fill('pas le bon mot de passe');
  await form.locator('input[name="cancel_tickets"]').check();
  await form.locator('button[type="submit"]').click();
  await form.locator('.field-error[data-field="password"]').waitFor();
  await form.locator('input[name="password"]').fill(PASSWORD);
  await form.locator('button[type="submit"]').click();
  await page.waitForURL(/\/account\/deleted$/);
  await page.locator('.deleted-page h1').waitFor();
  await shot(page, 'privacy-deleted');

  // The account is gone: logging in again is refused like an unknown address.
  await openHydrated(page, '/login');
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button[type="submit"]');
  await page.locator('.form-error').waitFor();
  assert.match(await page.locator('.form-error').textContent(), /Adresse e-mail ou mot de passe incorrect/);
});

test('the admin Privacy page shows the policy, a dry run and finds a person to erase', async () => {
  const page = await newPage(browser);
  await login(page, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(page, '/admin/privacy');
  await page.locator('.retention-counts').first().waitFor();
  assert.match(await page.locator('.privacy-admin').textContent(), /90/);
  await page.click('.retention-controls button.button-secondary');
  await page.locator('.dry-run-result .retention-counts').waitFor();
  await openHydrated(page, '/admin/privacy?q=attendee%40tessera.localhost');
  await page.locator('.person-line[data-email="attendee@tessera.localhost"]').waitFor();
  await shot(page, 'privacy-admin');
  assert.deepEqual(page.errors, []);
});
