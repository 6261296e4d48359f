// The API and webhooks in a real browser (issue 32, parts 3 and 4). An admin opens /admin/api,
// is refused a token without scopes (the message under the ticks), makes one (shown once), and a
// tool uses it: scopes hold, a talk moved through the API reaches a receiver written here as a
// signed talk.changed (checked with the secret the page shows), the delivery is listed and sent
// again from the page, and the revoked token is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { launch, newPage, openHydrated, shot, login, BASE_URL, DEMO_PASSWORD } from '../helpers.mjs';

let browser;
let receiver;
const got = [];
before(async () => {
  browser = await launch();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { got.push({ headers: req.headers, body }); res.end('ok'); });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
});
after(async () => { await browser?.close(); receiver?.close(); });

const waitFor = async (what, done) => {
  for (let i = 0; i < 100; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.fail(`waited for ${what}`);
};

test('an admin makes a token and a webhook; a tool reads, moves a talk, and hears of it signed', async () => {
  const admin = await newPage(browser);
  admin.on('dialog', (d) => d.accept());
  await login(admin, 'admin@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(admin, '/admin/api');

  // No scope ticked: refused, said under the ticks.
  const tokenForm = admin.locator('.api-token-form');
  await tokenForm.locator('input[name="name"]').fill('Badges');
  await tokenForm.locator('button').click();
  await tokenForm.locator('.field-error[data-field="scopes"]').waitFor();

  for (const scope of ['talks:read', 'talks:write', 'orders:read']) {
    await tokenForm.locator(`input[value="${scope}"]`).check();
  }
  await tokenForm.locator('button').click();
  const secret = admin.locator('.api-token-secret');
  await secret.waitFor();
  const token = (await secret.textContent()).trim();
  assert.match(token, /^tsk_[A-Za-z0-9_-]{43}$/);
  const row = admin.locator('.api-tokens tbody tr', { hasText: 'Badges' });
  await row.waitFor();
  assert.ok(!(await row.textContent()).includes(token), 'the list shows the first characters only');
  await shot(admin, 'api-token-made');

  // A webhook to the receiver, for talk changes; its secret is on the page.
  const hookForm = admin.locator('.webhook-form');
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  await hookForm.locator('input[name="url"]').fill(url);
  await hookForm.locator('input[value="talk.changed"]').check();
  await hookForm.locator('button').click();
  const hook = admin.locator('.webhooks tbody tr', { hasText: url });
  await hook.waitFor();
  await hook.locator('summary').click();
  const whsec = (await hook.locator('.webhook-secret').textContent()).trim();
  assert.match(whsec, /^whsec_/);

  // The tool: reads the talks, may not read check-ins, moves a talk.
  const api = (method, path, data) => admin.request.fetch(`${BASE_URL}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, data,
  });
  const talks = await (await api('GET', '/api/v1/talks?limit=200')).json();
  const talk = talks.data.find((t) => t.title.startsWith('Rust en production'));
  assert.ok(talk, 'the demo talk is listed');
  assert.equal((await api('GET', '/api/v1/checkins')).status(), 403);
  const moved = await api('PATCH', `/api/v1/talks/${talk.id}`, JSON.stringify({ version: talk.version, room: 'Salle Horizon' }));
  assert.equal(moved.status(), 200, await moved.text());

  await waitFor('the talk.changed delivery', () => got.length >= 1);
  const { headers, body } = got[0];
  const [t, v1] = headers['tessera-signature'].split(',').map((p) => p.split('=')[1]);
  assert.equal(createHmac('sha256', whsec).update(`${t}.${body}`).digest('hex'), v1, 'signed with the secret the page shows');
  const event = JSON.parse(body);
  assert.equal(event.type, 'talk.changed');
  assert.deepEqual([event.data.talk_id, event.data.fields, event.data.talk.room], [talk.id, ['room'], 'Salle Horizon']);

  // Listed as delivered; sent again from the page, with the same id.
  await openHydrated(admin, '/admin/api');
  const delivery = admin.locator('.webhook-deliveries tbody tr[data-status="DELIVERED"]').first();
  await delivery.waitFor();
  await shot(admin, 'api-deliveries');
  await delivery.locator('.webhook-replay').click();
  await waitFor('the replay', () => got.length >= 2);
  assert.equal(got[1].headers['tessera-event-id'], got[0].headers['tessera-event-id']);

  // The webhook is disabled from the page, then the talk goes back to its room (the other tests
  // read the demo programme): that move is not sent.
  await admin.locator('.webhooks tbody tr', { hasText: url }).locator('.webhook-disable').click();
  await admin.locator('.webhooks tbody tr', { hasText: url }).locator('.badge').waitFor();
  const back = await api('PATCH', `/api/v1/talks/${talk.id}`, JSON.stringify({ version: (await moved.json()).version, room: talk.room }));
  assert.equal(back.status(), 200, await back.text());
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(got.length, 2, 'a disabled webhook hears nothing');

  // Revoked from the page: refused at once.
  await admin.locator('.api-tokens tbody tr', { hasText: 'Badges' }).locator('.api-token-revoke').click();
  await admin.locator('.api-tokens tbody tr', { hasText: 'Badges' }).locator('.badge').waitFor();
  assert.equal((await api('GET', '/api/v1/talks')).status(), 401);
  assert.deepEqual(admin.errors.filter((e) => !/40[13]|422/.test(e)), []);
  await admin.context().close();
});
