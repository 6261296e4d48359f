// Attendees' data in a real browser (issue 31): an admin asks a required question for "Pass 2 jours";
// a new buyer takes three, is refused until each seat is answered, names the three holders and pays;
// one holder (the demo's steward) claims hers from the link of her own mail and stars a talk with
// it. The question is archived at the end, so the other tests buy without it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, shot, login, DEMO_PASSWORD } from '../helpers.mjs';

const ADMIN = 'admin@tessera.localhost';
// A buyer of its own: the demo attendee's passes are what other tests count on.
const BUYER = `buyer.${Date.now()}@example.org`;
const BUYER_PASSWORD = 'a long enough passphrase for e2e';
const HOLDER = 'staff@tessera.localhost';
const LABEL = 'Régime alimentaire (e2e)';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a buyer answers the questions of three named tickets; a holder claims hers and stars a talk', async () => {
  const admin = await newPage(browser);
  await login(admin, ADMIN, DEMO_PASSWORD);
  await openHydrated(admin, '/admin/questions');
  const form = admin.locator('.question-new .question-form');
  if (!(await form.isVisible())) await admin.locator('.question-new summary').click();
  await form.locator('select[name="kind"]').selectOption('CHOICE');
  await form.locator('input[name="label_fr"]').fill(LABEL);
  await form.locator('input[name="label_en"]').fill('Diet (e2e)');
  await form.locator('textarea[name="options"]').fill('Végétarien | Vegetarian\nSans gluten | Gluten-free\nAucun | None');
  await form.locator('input[name="required"]').check();
  await form.locator('.question-passes label', { hasText: 'Pass 2 jours' }).locator('input[type="checkbox"]').check();
  await form.locator('button[type="submit"]').click();
  const line = admin.locator('.questions-table tr', { hasText: LABEL });
  await line.waitFor();
  await shot(admin, 'questions-admin');

  try {
    // Three seats appear as the quantity is typed; paying without answers is refused in place.
    const buyer = await newPage(browser);
    const signup = await buyer.request.post('/api/signup', { form: { email: BUYER, password: BUYER_PASSWORD, first_name: 'Bea', last_name: 'Buyer', terms: 'on', privacy: 'on' } });
    assert.ok(signup.status() < 400, `signup: ${signup.status()}`);
    await login(buyer, BUYER, BUYER_PASSWORD);
    await openHydrated(buyer, '/tickets');
    const card = buyer.locator('.pass-card[data-pass="Pass 2 jours"]');
    await card.locator('input[type="number"]').fill('3');
    const seats = card.locator('fieldset.seat');
    await seats.nth(2).waitFor();
    assert.equal(await seats.count(), 3);
    assert.match(await seats.first().locator('.question-label').textContent(), /Régime alimentaire \(e2e\) \*/);
    await buyer.click('.pay-button');
    const refusal = seats.first().locator('.field-error');
    await refusal.waitFor();
    assert.match(await refusal.textContent(), /obligatoire/);
    assert.equal(await card.locator('input[type="number"]').inputValue(), '3', 'nothing typed is lost');

    const holders = [['Léa Martin', 'lea.e2e@example.org', 'Végétarien'], ['Samir Staff', HOLDER, 'Sans gluten'], ['Zoé Durand', 'zoe.e2e@example.org', 'Aucun']];
    for (const [i, [name, email, diet]] of holders.entries()) {
      const seat = seats.nth(i);
      await seat.locator('input[name$="[name]"]').fill(name);
      await seat.locator('input[name$="[email]"]').fill(email);
      await seat.locator('.question select').selectOption(diet);
    }
    await shot(buyer, 'shop-seats');
    await buyer.click('.pay-button');
    await buyer.waitForURL(/\/checkout\/test\/cs_test_tessera_/);
    await buyer.waitForSelector('body[data-hydrated="true"]');
    await buyer.click('button[data-outcome="pay"]');
    await buyer.locator('.confirmation-paid').waitFor();
    await openHydrated(buyer, '/me/tickets');
    for (const [name] of holders) {
      await buyer.locator('article.ticket .ticket-holder', { hasText: name }).first().waitFor();
    }

    // The holder's own mail carries a link to claim the ticket (read in the dev mailbox).
    await openHydrated(admin, '/dev/mailbox');
    const link = admin.locator(`article.mail[data-to="${HOLDER}"] a.mail-link[href*="/tickets/claim"]`).first();
    await link.waitFor();
    const href = await link.getAttribute('href');
    const holder = await newPage(browser);
    await login(holder, HOLDER, DEMO_PASSWORD);
    await openHydrated(holder, new URL(href).pathname + new URL(href).search);
    await shot(holder, 'claim-ticket');
    await holder.locator('.claim-page button[type="submit"]').click();
    await holder.waitForURL(/\/me\/tickets\?claimed=1$/);
    await holder.locator('article.ticket .ticket-claimed').first().waitFor();
    assert.match(await holder.locator('article.ticket .ticket-holder').first().textContent(), /Samir Staff/);

    // With the claimed pass, a talk can be saved to her programme.
    await openHydrated(holder, '/');
    const talk = holder.locator('.talk-card').filter({ has: holder.locator('.save-button') }).first();
    await talk.locator('.save-button').click();
    await talk.locator('.save-button.saved').waitFor();
    await shot(holder, 'holder-programme');
  } finally {
    // The question goes back in the drawer: the other tests buy "Pass 2 jours" without it.
    await openHydrated(admin, '/admin/questions');
    await admin.locator('.questions-table tr', { hasText: LABEL }).locator('.question-archive').click();
    await admin.locator('.questions-table tr.archived', { hasText: LABEL }).waitFor();
  }
});
