// Messages to attendees in a real browser (issue 31, part 4). An admin writes a practical message:
// without a subject it is refused next to the field; to the "Pass Jour 1" holders the preview counts
// the demo attendee (masked); a test goes to the admin; sent now, it is listed with its recipients
// and the attendee's mail is in the dev mailbox. Then a promotional one: the attendee, who opted in,
// gets it with an unsubscribe link, which works in a browser that is not logged in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, shot, login, DEMO_PASSWORD } from '../helpers.mjs';

const ATTENDEE = 'attendee@tessera.localhost';
const ADMIN = 'admin@tessera.localhost';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Fills the form of /admin/messages: kind, texts, and the "Pass Jour 1" holders. */
async function write(page, kind, fr, en) {
  const form = page.locator('.message-form');
  await form.locator('select[name="kind"]').selectOption(kind);
  await form.locator('input[name="subject_fr"]').fill(fr);
  await form.locator('input[name="subject_en"]').fill(en);
  await form.locator('textarea[name="body_fr"]').fill('Les portes ouvrent à 8 h 30.\n\nÀ demain !');
  await form.locator('textarea[name="body_en"]').fill('Doors open at 8:30.\n\nSee you tomorrow!');
  const pass = form.locator('.message-passes label', { hasText: 'Pass Jour 1' }).locator('input[type="checkbox"]');
  if (!(await pass.isChecked())) await pass.check();
  return form;
}

/** Sends the form now (accepting the confirmation) and waits for its line in the list. */
async function sendNow(page, subject) {
  page.once('dialog', (d) => d.accept());
  await page.locator('.message-form .message-send-button').click();
  await page.locator('.message-notice').waitFor();
  const line = page.locator('.messages-table tr', { hasText: subject });
  await line.waitFor();
  return line;
}

test('an admin previews a message to the day-one holders, tries it, sends it, and sees it go', async () => {
  const admin = await newPage(browser);
  await login(admin, ADMIN, DEMO_PASSWORD);
  await openHydrated(admin, '/admin/messages');

  // No subject: refused where it is typed.
  await admin.locator('.message-form .message-preview-button').click();
  const missing = admin.locator('.message-form .field-error[data-field="subject_fr"]');
  await missing.waitFor();
  assert.match(await missing.textContent(), /objet/i);

  const form = await write(admin, 'PRACTICAL', 'Infos pratiques (e2e)', 'Practical information (e2e)');
  await form.locator('.message-preview-button').click();
  const preview = form.locator('.message-preview');
  await preview.waitFor();
  const count = Number(await preview.getAttribute('data-count'));
  assert.ok(count >= 1, `the demo attendee holds a Pass Jour 1 (${count})`);
  await preview.locator('.message-preview-sample li', { hasText: 'a***@tessera.localhost' }).first().waitFor();
  assert.equal(await missing.count(), 0, 'the error is gone');
  await shot(admin, 'messages-preview');

  // A test to myself.
  await form.locator('.message-test-button').click();
  await admin.locator('.message-notice', { hasText: ADMIN }).waitFor();

  // Sent now: listed with as many recipients as the preview said.
  const line = await sendNow(admin, 'Infos pratiques (e2e)');
  assert.equal(await line.getAttribute('data-recipients'), String(count));
  assert.equal(await line.getAttribute('data-status'), 'SENT');
  assert.equal(await admin.locator('.message-form input[name="subject_fr"]').inputValue(), '', 'a blank form again');
  await shot(admin, 'messages-sent');

  await openHydrated(admin, '/dev/mailbox');
  const mail = admin.locator(`article.mail[data-kind="ATTENDEE_MESSAGE"][data-to="${ATTENDEE}"]`, { hasText: '(e2e)' });
  await mail.first().waitFor();
  assert.match(await mail.first().locator('.mail-text').textContent(), /(Les portes ouvrent|Doors open)/);
  assert.deepEqual(admin.errors.filter((e) => !/422/.test(e)), []);
  await admin.context().close();
});

test('a promotional message reaches the attendee who opted in, whose link unsubscribes without logging in', async () => {
  // The attendee opts in to the news (unless already in).
  const attendee = await newPage(browser);
  await login(attendee, ATTENDEE, DEMO_PASSWORD);
  await openHydrated(attendee, '/account');
  const give = attendee.locator('.marketing-form button[data-marketing="false"]');
  const given = attendee.locator('.marketing-form button[data-marketing="true"]');
  await give.or(given).first().waitFor();
  if (await give.count()) {
    await give.click();
    await given.waitFor();
  }

  const admin = await newPage(browser);
  await login(admin, ADMIN, DEMO_PASSWORD);
  await openHydrated(admin, '/admin/messages');
  const form = await write(admin, 'PROMOTIONAL', 'Offre (e2e)', 'Offer (e2e)');
  await form.locator('.message-preview-button').click();
  await form.locator('.message-preview').waitFor();
  assert.ok(Number(await form.locator('.message-preview').getAttribute('data-count')) >= 1);
  await sendNow(admin, 'Offre (e2e)');

  await openHydrated(admin, '/dev/mailbox');
  const mail = admin.locator(`article.mail[data-kind="ATTENDEE_MESSAGE"][data-to="${ATTENDEE}"]`, { hasText: /Offre \(e2e\)|Offer \(e2e\)/ }).first();
  await mail.waitFor();
  const link = await mail.locator('a.mail-link[href*="/unsubscribe/"]').getAttribute('href');
  assert.ok(link, 'the mail carries an unsubscribe link');
  await admin.context().close();

  // A browser that is not logged in: the page names the account, the button unsubscribes.
  const stranger = await newPage(browser);
  await openHydrated(stranger, new URL(link).pathname);
  assert.match(await stranger.locator('.unsubscribe-account').textContent(), /a\*\*\*@tessera\.localhost/);
  await stranger.locator('.unsubscribe-form button[type="submit"]').click();
  await stranger.locator('.unsubscribe-done').waitFor();
  await shot(stranger, 'messages-unsubscribed');
  assert.deepEqual(stranger.errors, []);
  await stranger.context().close();

  // The attendee's account says so.
  await openHydrated(attendee, '/account');
  await attendee.locator('.marketing-form button[data-marketing="false"]').waitFor();
  await attendee.context().close();
});
