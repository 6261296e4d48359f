// The programme for other tools in a real browser (issue 32, parts 1 and 2). An admin opens
// /admin/schedule: the export addresses answer; a changed copy of the site's own schedule.json is
// previewed (two talks would change, nothing is written), a broken file is refused under the file
// field naming its line, and the unchanged export imports as "nothing changed" and is listed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, newPage, openHydrated, shot, login, BASE_URL, DEMO_PASSWORD } from '../helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('an admin previews a changed pretalx-style file, is told where a broken one fails, and imports', async () => {
  const admin = await newPage(browser);
  await login(admin, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(admin, '/admin/schedule');
  const links = admin.locator('.schedule-exports a');
  assert.equal(await links.count(), 3);

  const res = await admin.request.get(`${BASE_URL}/schedule.json`);
  assert.equal(res.status(), 200);
  const original = await res.text();
  const doc = JSON.parse(original);
  const days = doc.schedule.conference.days;
  const events = days.flatMap((d) => Object.values(d.rooms).flat());
  assert.ok(events.length > 5, `the demo's talks (${events.length})`);
  events[0].title = `${events[0].title} (nouveau titre)`;
  events[1].date = events[1].date.replace(/T(\d\d)/, (_, h) => `T${String(Number(h) + 1).padStart(2, '0')}`);
  delete events[1].end;

  const dir = mkdtempSync(join(tmpdir(), 'schedule-'));
  const file = (name, text) => { const p = join(dir, name); writeFileSync(p, text); return p; };
  const form = admin.locator('.schedule-import');
  const input = form.locator('input[type="file"]');

  await input.setInputFiles(file('changed.json', JSON.stringify(doc)));
  await admin.waitForTimeout(300);
  await form.locator('.schedule-preview').click();
  const report = admin.locator('.schedule-report[data-applied="false"]');
  await report.waitFor();
  assert.equal(await report.locator('.schedule-talks li.updated').count(), 2, await report.textContent());
  await shot(admin, 'schedule-preview');
  const title = await admin.request.get(`${BASE_URL}/schedule.json`).then((r) => r.text());
  assert.equal(title, original, 'a preview writes nothing');

  await input.setInputFiles(file('broken.json', original.replace('"days": [', '"days": [}')));
  await admin.waitForTimeout(300);
  await form.locator('.schedule-preview').click();
  const error = form.locator('.field-error[data-field="file"]');
  await error.waitFor();
  assert.match(await error.textContent(), /ligne \d+, colonne \d+/);

  await input.setInputFiles(file('schedule.json', original));
  await admin.waitForTimeout(300);
  await form.locator('.schedule-apply').click();
  const done = admin.locator('.schedule-report[data-applied="true"]');
  await done.waitFor();
  assert.match(await done.textContent(), new RegExp(`${events.length} inchangés`));
  await admin.locator('.schedule-runs tbody tr', { hasText: 'file:schedule.json' }).first().waitFor();
  await shot(admin, 'schedule-imported');
  assert.deepEqual(admin.errors.filter((e) => !/422/.test(e)), []);
  await admin.context().close();
});
