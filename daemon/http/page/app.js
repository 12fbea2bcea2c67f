// The dashboard's one script: no framework, no build step (docs/DECISIONS.md D71). It reads
// server-sent events from /api/stream and writes them into the page with textContent only.
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const SVG = 'http://www.w3.org/2000/svg';
const LABELS = { mask: 'mask', no_mask: 'no mask', no_face: 'no face' };
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '–');
const pct = (s) => (typeof s === 'number' ? `${Math.round(s * 100)}%` : '');

/** dl rows from [term, value] pairs. */
function fill(dl, rows) {
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', '', k), el('dd', '', v ?? '–')]));
}

// ---- the token: once from the URL fragment, traded for a session cookie (daemon/http/auth.ts)

async function session(token) {
  const r = await fetch('/session', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  return r.status === 204;
}

function askToken(message) {
  $('main').hidden = true;
  $('auth').hidden = false;
  $('auth-msg').textContent = message;
  setConn('no access', 'bad');
}

$('auth').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (await session($('token').value)) {
    $('auth').hidden = true;
    connect();
  } else askToken('Wrong token (401). Ask whoever installed the device for http.token.');
});

function setConn(text, cls) {
  $('conn').textContent = text;
  $('conn').className = `pill ${cls}`;
}

// ---- the stream

let source = null;
function connect() {
  source?.close();
  setConn('connecting…', '');
  source = new EventSource('/api/stream');
  const on = (name, fn) => source.addEventListener(name, (e) => fn(JSON.parse(e.data)));
  source.onopen = () => setConn('live', 'ok');
  source.onerror = async () => {
    if (source.readyState !== EventSource.CLOSED) return setConn('reconnecting…', 'warn');
    const r = await fetch('/session').catch(() => null);
    if (r?.status === 401) return askToken('This device needs its HTTP token.');
    setConn('offline', 'bad');
    setTimeout(connect, 3000);
  };
  on('hello', hello);
  on('health', health);
  on('frame', frame);
  on('people', people);
  on('counts', counts);
  on('model', model);
}

const cams = new Map();

function hello(h) {
  $('device').textContent = `${h.site} / ${h.deviceId} · ${h.version}`;
  document.title = `${h.deviceId} · mobilenet-edge`;
  $('main').hidden = false;
  $('cameras').replaceChildren();
  cams.clear();
  for (const c of h.cameras) {
    const card = el('article', 'card camera');
    card.dataset.camera = c.id;
    card.dataset.ok = 'false';
    const title = el('h2');
    title.append(el('span', 'dot'), el('span', 'name', c.id), el('span', 'state', 'starting'), el('span', 'verdict'));
    const view = el('div', 'view');
    const img = el('img');
    img.alt = `${c.id} live view`;
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'overlay');
    svg.setAttribute('preserveAspectRatio', 'none');
    view.append(img, svg, el('p', 'wait', c.mode === 'faces' ? 'waiting for a frame…' : 'waiting for a frame… (classify mode: no boxes)'));
    const stats = el('dl', 'stats');
    card.append(title, view, stats, el('p', 'error'));
    $('cameras').append(card);
    cams.set(c.id, { card, img, svg, stats, view });
  }
  $('cameras').dataset.count = String(h.cameras.length);
}

function health(r) {
  if (!r) return;
  $('healthy').textContent = r.healthy ? 'healthy' : 'unhealthy';
  $('healthy').className = `pill ${r.healthy ? 'ok' : 'bad'}`;
  $('healthy').title = r.reasons.join('\n');
  for (const [id, c] of Object.entries(r.cameras)) {
    const cam = cams.get(id);
    if (!cam) continue;
    const ok = c.state === 'running';
    cam.card.dataset.ok = String(ok);
    cam.card.dataset.state = c.state;
    cam.card.querySelector('.state').textContent = c.state;
    fill(cam.stats, [['fps', String(c.fps)], ['dropped', String(c.dropped)], ['restarts', String(c.restarts)]]);
    cam.card.querySelector('.error').textContent = ok ? '' : c.lastError ?? '';
  }
  const e = r.engine;
  fill($('engine'), [
    ['state', e.state],
    ['provider', e.provider],
    ['model', e.model ? `${e.model.name} ${e.model.version}` : null],
    ['workers', String(e.workers ?? 1)],
    ['restarts', String(e.restarts)],
  ]);
  const m = r.mqtt;
  fill($('mqtt'), [
    ['broker', m.connected ? 'connected' : 'disconnected'],
    ['published', String(m.published)],
    ['dropped', String(m.dropped)],
    ['outbox', String(m.outbox?.queued ?? 0)],
    ...(m.lastError ? [['last error', m.lastError]] : []),
  ]);
  $('mqtt').dataset.connected = String(m.connected);
}

function frame(f) {
  const cam = cams.get(f.camera);
  if (!cam) return;
  cam.img.src = `data:image/jpeg;base64,${f.jpeg}`;
  cam.view.classList.add('has-frame');
  const [w, h] = f.size;
  cam.svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  // about 13 screen pixels whatever the picture is scaled to (a phone shows 1280 px in ~350)
  const font = Math.round(Math.max(w / 60, (13 * w) / (cam.view.clientWidth || 640)));
  cam.svg.replaceChildren(
    ...f.faces.map((face) => {
      const [x, y, bw, bh] = face.box;
      const g = document.createElementNS(SVG, 'g');
      g.setAttribute('class', `box ${face.label}`);
      if (face.track !== null) g.dataset.track = String(face.track);
      const r = document.createElementNS(SVG, 'rect');
      for (const [k, v] of Object.entries({ x, y, width: bw, height: bh })) r.setAttribute(k, String(v));
      r.setAttribute('stroke-width', String(Math.max(2, Math.round(w / 300))));
      const t = document.createElementNS(SVG, 'text');
      const label = `${face.track !== null ? `#${face.track} ` : ''}${LABELS[face.label] ?? face.label} ${pct(face.score)}`;
      // inside the picture: a label that would run off the right edge moves left
      t.setAttribute('x', String(Math.max(0, Math.min(x + 4, w - label.length * font * 0.62 - 4))));
      t.setAttribute('y', String(y - font * 0.3 > font ? y - font * 0.3 : y + bh + font));
      t.setAttribute('font-size', String(font));
      t.textContent = label;
      g.append(r, t);
      return g;
    }),
  );
  const v = cam.card.querySelector('.verdict');
  v.textContent = LABELS[f.label] ?? f.label;
  v.className = `verdict ${f.label}`;
}

function people(rows) {
  const list = $('people');
  if (!rows.length) return list.replaceChildren(el('li', 'empty', 'nobody yet'));
  list.replaceChildren(
    ...rows.map((p) => {
      const li = el('li', `person ${p.label ?? 'unknown'}`);
      li.dataset.person = p.person;
      if (p.snapshotUrl) {
        const img = el('img', 'snap');
        img.src = p.snapshotUrl;
        img.alt = `snapshot of ${p.camera} #${p.track}`;
        li.append(img);
      } else if (p.snapshot) li.append(el('span', 'snap none', '…')); // published, on its way
      const text = el('div');
      text.append(el('b', '', p.label ? LABELS[p.label] : 'reading…'), ` ${pct(p.score)} · ${p.camera} #${p.track}`);
      const when = p.present ? `${time(p.firstAt)} · in view` : `${time(p.firstAt)} · left after ${((p.durationMs ?? 0) / 1000).toFixed(1)} s`;
      text.append(el('small', '', when));
      li.append(text);
      return li;
    }),
  );
}

function counts(c) {
  $('day').textContent = c.day;
  let mask = 0;
  let noMask = 0;
  const rows = Object.entries(c.cameras).map(([id, n]) => {
    mask += n.mask;
    noMask += n.no_mask;
    const tr = el('tr');
    tr.dataset.camera = id;
    tr.append(el('th', '', id), el('td', 'mask', String(n.mask)), el('td', 'no_mask', String(n.no_mask)));
    return tr;
  });
  $('n-mask').textContent = String(mask);
  $('n-no_mask').textContent = String(noMask);
  $('per-camera').replaceChildren(...rows);
}

function model(s) {
  if (!s) return fill($('model'), [['OTA', 'off (ota.enabled false): the engine runs the configured model']]);
  const ref = (r) => (r ? `${r.name} ${r.version}` : null);
  const push = s.lastPush;
  const rb = s.lastRollback;
  fill($('model'), [
    ['active', ref(s.active)],
    ['previous', ref(s.previous)],
    ['probation', s.probationUntil ? `until ${time(s.probationUntil)}` : 'no'],
    ['last push', push ? `${push.code} ${push.model ? ref(push.model) : ''} at ${time(push.at)}` : 'none'],
    ['last rollback', rb ? `${ref(rb.from)} → ${ref(rb.to)} at ${time(rb.at)}: ${rb.reason}` : 'none'],
  ]);
}

// ---- start: a token in the fragment is used once and removed from the address bar

(async () => {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    history.replaceState(null, '', location.pathname);
    if (!(await session(decodeURIComponent(m[1])))) return askToken('Wrong token (401). Ask whoever installed the device for http.token.');
  }
  connect();
})();
