// The Chorus admin page (docs/admin.md): asks for the API key when the broker wants one, follows
// `$sys` over this broker's WebSocket with the official client (/client.js), and draws the mesh
// every time a broker's snapshot arrives (and each second, for the ages).
import { createClient } from '/client.js';
import { lookUp, disconnect, prepareDisconnect } from './actions.js';
import { api, credential, failure } from './api.js';
import { $ } from './dom.js';
import { meshModel, nameOf } from './mesh.js';
import { renderMesh } from './render.js';

/** When this page last received each broker's snapshot (member id → ms, its own clock). */
const seen = new Map();
let client;
let sub;
let self = '';
let model = null;

function setStatus(status, text) {
  document.body.dataset.status = status;
  $('status').textContent = text;
}

/** Asks for the credential, with why. */
function askForKey(why) {
  setStatus('key', why);
  $('key-form').hidden = false;
  $('key-input').focus();
}

/** Which broker this is, and whether it wants a credential: GET /api/v1/cluster answers 401 without one. */
async function start() {
  $('key-form').hidden = true;
  setStatus('connecting', 'connecting…');
  const probe = await api('/api/v1/cluster');
  if (probe.status === 401) {
    const had = credential.get() !== '';
    credential.clear();
    return askForKey(had ? 'That key was refused. The API key (or a token granting $sys), please:' : 'This broker asks for its API key (or a token granting $sys).');
  }
  if (!probe.ok) return setStatus('offline', `cannot reach the broker: ${failure(probe)}; reload to try again`);
  self = nameOf(probe.body?.broker ?? '');
  $('self').textContent = self;
  connect();
}

function connect() {
  const key = credential.get();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  client = createClient(url, { ...(key === '' ? {} : { token: key }), reconnect: { delayMinMs: 200, delayMaxMs: 3000 } });
  client.on('connected', () => setStatus('live', 'live'));
  client.on('reconnected', () => setStatus('live', 'live'));
  client.on('disconnected', ({ code }) => setStatus('offline', `connection lost (${code}), reconnecting…`));
  client.on('closed', ({ code, reason }) => {
    // 4504: the credential was refused at hello.
    if (code === 4504) {
      credential.clear();
      return askForKey(`The broker refused that credential (${reason}).`);
    }
    setStatus('offline', `disconnected (${code} ${reason}); reload to connect again`);
  });
  client.on('error', (err) => console.warn('chorus:', err.message));
  const subscribing = client.subscribe('$sys', onMessage, { state: true });
  subscribing.then(
    (s) => {
      sub = s;
      s.on('ended', ({ error }) => setStatus('offline', `$sys ended: ${error.message}`));
      draw();
    },
    (err) => {
      if (err?.code === 401 /* Forbidden */) {
        void client.close();
        credential.clear();
        return askForKey('This credential may not read $sys: the API key, or a token granting "$sys" by name, please.');
      }
      // Refused at hello (4504): the key is being asked for already.
      if (document.body.dataset.status !== 'key') setStatus('offline', `cannot follow $sys: ${err.message}`);
    },
  );
}

/** A snapshot (or removals) arrived: note which brokers spoke. */
function onMessage(message) {
  const brokers = message.data?.brokers;
  if (brokers !== null && typeof brokers === 'object') {
    for (const [id, snapshot] of Object.entries(brokers)) {
      if (snapshot === null) seen.delete(id);
      else seen.set(id, Date.now());
    }
  }
  scheduleDraw();
}

let drawQueued = false;
function scheduleDraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    draw();
  });
}

const brokersNow = () => (sub?.state?.brokers !== null && typeof sub?.state?.brokers === 'object' ? sub.state.brokers : {});

function draw() {
  if (sub === undefined) return;
  const now = Date.now();
  model = meshModel(brokersNow(), seen, now, self);
  renderMesh(model, now);
}

// Ages and staleness move with time even when nothing arrives (a broker that died says nothing).
setInterval(() => {
  if (document.visibilityState !== 'hidden') draw();
}, 1000);

const context = { get self() { return self; }, brokers: brokersNow };

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  credential.set($('key-input').value.trim());
  $('key-input').value = '';
  void start();
});
$('forget').addEventListener('click', () => {
  credential.clear();
  location.reload();
});
$('topic-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void lookUp($('topic-input').value.trim(), context);
});
$('top').addEventListener('click', (event) => {
  const topic = event.target.closest('[data-lookup]')?.dataset.lookup;
  if (topic === undefined) return;
  $('topic-input').value = topic;
  void lookUp(topic, context);
});
$('lookup').addEventListener('click', (event) => {
  const button = event.target.closest('[data-disconnect]');
  if (button !== null) prepareDisconnect(button.dataset.disconnect, button.dataset.session ?? '');
});
$('dc-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = { client: $('dc-client').value.trim(), session: $('dc-session').value.trim(), reconnect: $('dc-reconnect').checked, reason: $('dc-reason').value.trim() };
  if (form.client === '' || !confirm(`Disconnect ${form.client}${form.session === '' ? ' (all its sessions here)' : ''}?`)) return;
  void disconnect(form, context);
});

/** For tests and the console: the model last drawn, read-only. */
window.chorusAdmin = { model: () => model, status: () => document.body.dataset.status };

void start();
