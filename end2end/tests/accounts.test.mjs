// Accounts in a real browser: sign up with consents, verify through the dev mailbox (read as the
// demo admin: it is for admins only), log out and in, reset the password, see the sessions; an
// attendee is refused the admin pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, shot, login, DEMO_PASSWORD } from '../helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** A page of the demo admin's, who alone may read the dev mailbox (logged in once). */
let mailbox;
async function openMailbox() {
  if (!mailbox) {
    mailbox = await newPage(browser);
    await login(mailbox, 'admin@tessera.localhost', DEMO_PASSWORD);
  }
  await openHydrated(mailbox, '/dev/mailbox');
  return mailbox;
}

/** The href of the newest mail's link to `path` for `to`, read in the dev mailbox. */
async function mailLink(to, path) {
  const page = await openMailbox();
  const link = page.locator(`article.mail[data-to="${to}"] a.mail-link[href*="${path}"]`).first();
  await link.waitFor();
  return link.getAttribute('href');
}

test('sign up, verify through the mailbox, log out, log in, reset the password, see sessions', async () => {
  const page = await newPage(browser);
  const email = `zoe.${Date.now()}@example.org`;
  // The dev mailbox (reset links included) is not for anonymous readers.
  await openHydrated(page, '/dev/mailbox');
  await page.locator('.login-required').waitFor();
  assert.equal(await page.locator('article.mail').count(), 0);
  await openHydrated(page, '/signup');

  // Consents are shown; terms and privacy are required, marketing is optional and unticked.
  assert.equal(await page.locator('input[name="marketing"]').isChecked(), false);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', 'court');
  await page.fill('input[name="first_name"]', 'Zoé');
  await page.check('input[name="terms"]');
  await page.check('input[name="privacy"]');
  await page.click('button[type="submit"]');
  const err = page.locator('.field-error[data-field="password"]');
  await err.waitFor();
  assert.match(await err.textContent(), /au moins 10 caractères/);
  assert.equal(await page.inputValue('input[name="email"]'), email, 'nothing typed is lost');
  await shot(page, 'signup-error');

  await page.fill('input[name="password"]', 'une phrase de passe solide');
  await page.click('button[type="submit"]');
  await page.waitForURL(/\/signup\/sent$/);
  // The page comes with its chunk (lazy_pages): wait for it rather than for the address.
  await page.locator('h1', { hasText: /Vérifiez votre boîte mail/ }).waitFor();

  const verify = await mailLink(email, '/verify-email');
  await shot(mailbox, 'mailbox');
  await openHydrated(page, verify);
  await page.click('button[type="submit"]');
  // Confirmed; the link logs no one in (it proves the mailbox, not the password): log in.
  await page.waitForURL(/\/login\?verified=1$/);
  await page.locator('.notice-success').first().waitFor();
  await page.waitForSelector('body[data-hydrated]');
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', 'une phrase de passe solide');
  await page.click('button[type="submit"]');
  await page.waitForSelector(`.account-nav[data-user="${email}"]`);
  await openHydrated(page, '/account');
  assert.equal(await page.locator('.account-nav').getAttribute('data-user'), email);
  assert.equal(await page.locator('.current-email').textContent(), email);
  await shot(page, 'account');

  // Log out, then in again.
  await page.click('.account-nav button');
  await page.waitForSelector('.account-nav a[href="/login"]');
  await openHydrated(page, '/login');
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', 'pas le bon mot de passe');
  await page.click('button[type="submit"]');
  await page.locator('.form-error').waitFor();
  assert.match(await page.locator('.form-error').textContent(), /Adresse e-mail ou mot de passe incorrect/);
  await page.fill('input[name="password"]', 'une phrase de passe solide');
  await page.click('button[type="submit"]');
  await page.waitForSelector(`.account-nav[data-user="${email}"]`);

  // Reset the password from another browser: this session ends, the new one is logged in.
  const other = await newPage(browser);
  await openHydrated(other, '/forgot-password');
  await other.fill('input[name="email"]', email);
  await other.click('button[type="submit"]');
  await other.waitForURL(/\/forgot-password\/sent$/);
  const reset = await mailLink(email, '/reset-password');
  await openHydrated(other, reset);
  await other.fill('input[name="password"]', 'encore une autre phrase');
  await other.click('button[type="submit"]');
  await other.waitForURL(/\/account\?reset=1$/);
  await other.locator('.session-list .session').first().waitFor();
  assert.equal(await other.locator('.session-list .session').count(), 1, 'the first browser was logged out');
  await shot(other, 'sessions');
  await page.reload();
  await page.waitForSelector('.account-nav a[href="/login"]');
  assert.deepEqual(page.errors.filter((e) => !e.includes('401') && !e.includes('422')), []);
});

test('an attendee is refused the admin pages; the admin sees them', async () => {
  const page = await newPage(browser);
  await openHydrated(page, '/login');
  await page.fill('input[name="email"]', 'attendee@tessera.localhost');
  await page.fill('input[name="password"]', DEMO_PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForSelector('.account-nav[data-user="attendee@tessera.localhost"]');
  assert.equal(await page.locator('.account-nav a[href="/admin"]').count(), 0, 'no admin link for an attendee');
  const res = await page.goto('/admin/users');
  assert.equal(res.status(), 403);
  assert.match(await page.locator('.notice-error').textContent(), /pas accès/);
  assert.equal(await page.locator('.users-table').count(), 0);
  await shot(page, 'admin-refused');

  const admin = await newPage(browser);
  await openHydrated(admin, '/login?next=/admin/users');
  await admin.fill('input[name="email"]', 'admin@tessera.localhost');
  await admin.fill('input[name="password"]', DEMO_PASSWORD);
  await admin.click('button[type="submit"]');
  await admin.waitForURL(/\/admin\/users$/);
  await admin.locator('.users-table tr[data-email="attendee@tessera.localhost"]').waitFor();
  await shot(admin, 'admin-users');
});
