/* skein dashboard: reads the coordinator's read-only HTTP API (/api/v1) and
 * draws the rollout list, one rollout's phases x regions grid, its failure,
 * the next command and its timeline. Live updates come from the rollout's
 * Server-Sent Events stream, read with fetch() so that a bearer token can be
 * sent (EventSource cannot send headers); a dropped stream is reconnected
 * with backoff, sending the last event id seen (Last-Event-ID).
 * Everything shown is rendered from the JSON; no state is kept but the
 * last rollout object and the events already drawn. */
'use strict';
(function () {
  var API = '/api/v1';
  var LIST_EVERY_MS = 3000;
  var REGIONS_EVERY_MS = 5000;
  var SILENCE_MS = 45000; /* no byte, not even a ": ping", for this long: reconnect */
  var BACKOFF_MIN_MS = 500;
  var BACKOFF_MAX_MS = 5000;
  var TIMELINE_MAX = 1000;

  var token = null;
  /* A load started while one is under way makes it the last of its loop. */
  var regions = { timer: null, gen: 0 };
  var list = { timer: null, gen: 0, ok: null, error: '', rows: [], lineStopped: false };
  var stream = {
    gen: 0, id: null, ctrl: null, lastEventId: null, attempt: 0,
    state: 'idle', error: '', timer: null, watchdog: null, retryAt: 0
  };
  var shown = { ro: null, seqs: new Set() };

  function $(id) { return document.getElementById(id); }

  /* h('td', {class: 'x'}, child, 'text', ...): an element; strings become
   * text nodes (never HTML: error messages come from SQL and agents). */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    var k;
    for (k in attrs || {}) {
      if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) continue;
      if (k === 'text') el.textContent = attrs[k];
      else el.setAttribute(k, attrs[k] === true ? '' : String(attrs[k]));
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, c) {
    if (c === null || c === undefined || c === false || c === '') return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(el, x); }); return; }
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  function setText(el, s) { if (el.textContent !== s) el.textContent = s; }
  function replaceKids(el) {
    var kids = Array.prototype.slice.call(arguments, 1);
    while (el.firstChild) el.removeChild(el.firstChild);
    append(el, kids);
  }

  /* ---- figures and words ------------------------------------------------ */

  function num(n) { return Number(n || 0).toLocaleString('en-US'); }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function toMs(t) {
    if (typeof t === 'number') return t > 1e11 ? t : t * 1000;
    if (typeof t === 'string' && t !== '') { var ms = Date.parse(t); return isNaN(ms) ? 0 : ms; }
    return 0;
  }
  function clock(ms) {
    var d = new Date(ms);
    return pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds());
  }
  function stamp(ms) {
    if (!ms) return '';
    var d = new Date(ms);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' + clock(ms) + ' UTC';
  }
  function dur(ms) {
    if (ms < 0) ms = 0;
    if (ms < 1000) return Math.round(ms) + ' ms';
    var s = ms / 1000;
    if (s < 60) return (s < 10 && ms % 1000 ? s.toFixed(1) : Math.round(s)) + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + Math.floor(s - m * 60) + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }
  /* Ages are in whole seconds: the API's times may be. */
  function ago(ms) {
    if (!ms) return 'never';
    var d = Date.now() - ms;
    return d < 2000 ? 'just now' : dur(Math.floor(d / 1000) * 1000) + ' ago';
  }
  function bytes(n) {
    var u = ['B', 'kB', 'MB', 'GB', 'TB'], i = 0;
    n = Number(n || 0);
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + u[i];
  }

  /* A state's kind, for its colour and mark; the word is always shown. */
  function kind(s) {
    switch (s) {
      case 'succeeded': case 'done': case 'passed': case 'ready': case 'rolled-back': case 'reverted': case 'skipped': case 'connected':
        return 'ok';
      case 'failed': case 'refused': case 'blocked': case 'aborted': case 'erred': case 'not connected':
        return 'bad';
      case 'running': case 'dispatched':
        return 'run';
      case 'waiting': case 'paused':
        return 'wait';
      default:
        return 'idle';
    }
  }
  var MARK = { ok: '\u2713 ', bad: '\u2717 ', run: '\u25b6 ', wait: '\u23f8 ', idle: '' };
  function badge(s, extra) {
    var k = kind(s);
    return h('span', { class: 'badge s-' + k + (extra ? ' ' + extra : '') }, MARK[k] + (s || 'unknown'));
  }
  function terminal(s) { return kind(s) === 'ok' || kind(s) === 'bad'; }

  /* ---- token and route ------------------------------------------------- */

  /* A bearer token may come in the fragment (#token=T, or #/rollouts/ID&token=T):
   * kept for this tab in sessionStorage and taken out of the address, so a
   * link copied from the address bar does not carry it. */
  function takeToken() {
    var hash = location.hash;
    var m = /[#&?]token=([^&]*)/.exec(hash);
    var before = token;
    if (m) {
      token = decodeURIComponent(m[1]);
      try { sessionStorage.setItem('skein.token', token); } catch (e) { /* private mode */ }
      var rest = hash.replace(/[&?]?token=[^&]*/, '').replace(/^#&/, '#');
      history.replaceState(null, '', location.pathname + location.search + (rest === '#' ? '' : rest));
    } else if (token === null) {
      try { token = sessionStorage.getItem('skein.token'); } catch (e) { token = null; }
    }
    return token !== before;
  }
  function headers(extra) {
    var hd = extra || {};
    if (token) hd.Authorization = 'Bearer ' + token;
    return hd;
  }
  function routeId() {
    var m = /^#\/rollouts\/([^/?&]+)/.exec(location.hash);
    return m ? decodeURIComponent(m[1]) : null;
  }

  function httpError(res, what) {
    if (res.status === 401)
      return new Error(what + ': 401 unauthorized: this coordinator wants a token; open the page as ' +
        location.pathname + '#token=YOUR_TOKEN');
    if (res.status === 404) return new Error(what + ': 404 not found');
    return new Error(what + ': HTTP ' + res.status);
  }
  function getJSON(path) {
    return fetch(API + path, { headers: headers({ Accept: 'application/json' }), cache: 'no-store' })
      .then(function (res) {
        if (!res.ok) throw httpError(res, 'GET ' + API + path);
        return res.json();
      });
  }

  /* ---- the connection line --------------------------------------------- */

  function showConn() {
    var el = $('conn'), st, text;
    if (stream.id !== null) {
      st = stream.state;
      if (st === 'live') text = 'live';
      else if (st === 'connecting') text = 'connecting…';
      else if (st === 'reconnecting') {
        text = 'reconnecting… (attempt ' + stream.attempt + ', next try in ' +
          Math.max(0, Math.ceil((stream.retryAt - Date.now()) / 1000)) + ' s)';
        if (stream.error) text += ': ' + stream.error;
      } else text = stream.error || st;
    } else if (list.ok === null) { st = 'connecting'; text = 'connecting…'; }
    else if (list.ok) { st = 'live'; text = 'connected'; }
    else if (/: 401 /.test(list.error)) { st = 'error'; text = 'a token is needed (401)'; }
    else { st = 'reconnecting'; text = 'reconnecting… ' + list.error; }
    if (el.getAttribute('data-state') !== st) el.setAttribute('data-state', st);
    setText(el, text);
    document.body.setAttribute('data-stream', st);
  }

  /* ---- the rollout list and the agents ---------------------------------- */

  function loadList() {
    var g = ++list.gen;
    clearTimeout(list.timer);
    getJSON('/rollouts').then(function (data) {
      if (g !== list.gen) return;
      list.ok = true; list.error = '';
      list.rows = Array.isArray(data) ? data : (data && data.rollouts) || [];
      list.lineStopped = !!(data && data.line_stopped);
      patchList(shown.ro);
      drawList();
    }).catch(function (e) {
      if (g !== list.gen) return;
      list.ok = false; list.error = e.message;
      setText($('list-note'), 'Cannot read the list: ' + e.message);
    }).then(function () {
      if (g !== list.gen) return;
      showConn();
      list.timer = setTimeout(loadList, LIST_EVERY_MS);
    });
  }

  /* The rollout on screen is fresher from its stream than from the last
   * poll of the list: its entry follows the stream. */
  function patchList(ro) {
    if (!ro) return false;
    var changed = false;
    list.rows.forEach(function (r) {
      if (r.id !== ro.id) return;
      var cur = ro.phases && ro.phases[ro.current_phase];
      var upd = { state: ro.state, waits_for: ro.waits_for || '', phase: cur ? cur.name : r.phase };
      Object.keys(upd).forEach(function (k) {
        if (r[k] !== upd[k]) { r[k] = upd[k]; changed = true; }
      });
    });
    return changed;
  }

  function drawList() {
    var cur = routeId();
    var lineStopped = list.lineStopped;
    var rows = list.rows.slice().sort(function (a, b) { return (b.created_ms || 0) - (a.created_ms || 0); });
    setText($('list-note'), (lineStopped ? 'The line is stopped (skein stop --all). ' : '') +
      (rows.length ? '' : 'No rollouts yet.'));
    var items = rows.map(function (r) {
      var line2 = [r.plan || r.plan_name, r.mode && r.mode !== 'apply' ? r.mode : '',
        r.phase ? 'phase ' + r.phase : '', r.waits_for ? 'waits for ' + r.waits_for : '',
        r.created_ms ? ago(r.created_ms) : ''].filter(Boolean).join(' · ');
      return h('li', null, h('a', {
        href: '#/rollouts/' + encodeURIComponent(r.id),
        'aria-current': r.id === cur ? 'page' : null,
        'data-id': r.id
      }, h('span', { class: 'id mono' }, r.id), ' ', badge(r.state), h('span', { class: 'line2' }, line2)));
    });
    replaceKids($('rollouts'), items);
  }

  function loadRegions() {
    var g = ++regions.gen;
    clearTimeout(regions.timer);
    getJSON('/regions').then(function (data) {
      if (g !== regions.gen) return;
      var rows = (Array.isArray(data) ? data : (data && data.regions) || []).map(function (r) {
        var dbs = typeof r.databases === 'number' ? String(r.databases) : '';
        var run = Array.isArray(r.running) ? r.running.join(', ') : '';
        return h('tr', null,
          h('th', { scope: 'row' }, r.region || '?'),
          h('td', null, badge(r.connected ? 'connected' : 'not connected'),
            r.version ? ' ' + r.version : '',
            h('span', { class: 'line2' }, 'last seen ' + ago(toMs(r.last_seen))),
            dbs ? h('span', { class: 'line2' }, dbs + (dbs === '1' ? ' database' : ' databases')) : null,
            run ? h('span', { class: 'line2' }, 'running: ' + run) : null));
      });
      if (!rows.length) rows.push(h('tr', null, h('td', { colspan: 2 }, 'No regions in the inventory.')));
      replaceKids($('regions').tBodies[0], rows);
    }).catch(function (e) {
      if (g !== regions.gen) return;
      replaceKids($('regions').tBodies[0], h('tr', null, h('td', { colspan: 2 }, 'Cannot read the agents: ' + e.message)));
    }).then(function () {
      if (g === regions.gen) regions.timer = setTimeout(loadRegions, REGIONS_EVERY_MS);
    });
  }

  /* ---- one rollout: the stream ------------------------------------------ */

  function select(id) {
    if (stream.id === id) return;
    stream.gen++;
    if (stream.ctrl) stream.ctrl.abort();
    clearTimeout(stream.timer);
    clearTimeout(stream.watchdog);
    stream.id = id; stream.lastEventId = null; stream.attempt = 0; stream.error = '';
    shown.ro = null; shown.seqs = new Set();
    document.body.removeAttribute('data-rollout-state');
    replaceKids($('timeline'));
    Array.prototype.forEach.call(document.querySelectorAll('#rollouts a'), function (a) {
      if (a.getAttribute('data-id') === id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    $('empty').hidden = id !== null;
    $('rollout').hidden = id === null;
    if (id === null) { stream.state = 'idle'; showConn(); return; }
    setText($('ro-title'), 'Rollout ' + id);
    setText($('ro-state'), 'loading…');
    replaceKids($('grid'));
    $('failure').hidden = true; $('next-ok').hidden = true; $('ro-waits').hidden = true;
    $('report').open = false;
    replaceKids($('report-body'));
    setText($('report-cmd'), 'skein rollout report ' + id);
    $('report-raw').href = API + '/rollouts/' + encodeURIComponent(id) + '/report';
    stream.state = 'connecting';
    showConn();
    connect(stream.gen);
  }

  function armWatchdog(gen) {
    clearTimeout(stream.watchdog);
    stream.watchdog = setTimeout(function () {
      if (gen === stream.gen && stream.ctrl) {
        stream.error = 'no data for ' + SILENCE_MS / 1000 + ' s';
        stream.ctrl.abort();
      }
    }, SILENCE_MS);
  }

  function connect(gen) {
    var id = stream.id;
    var ctrl = new AbortController();
    var hd = headers({ Accept: 'text/event-stream' });
    if (stream.lastEventId !== null) hd['Last-Event-ID'] = stream.lastEventId;
    stream.ctrl = ctrl;
    fetch(API + '/rollouts/' + encodeURIComponent(id) + '/events', { headers: hd, signal: ctrl.signal, cache: 'no-store' })
      .then(function (res) {
        if (res.status === 404) {
          /* Retrying cannot make an unknown rollout appear. */
          var e404 = new Error('no rollout ' + id + ' on this coordinator');
          e404.fatal = true;
          throw e404;
        }
        if (!res.ok) throw httpError(res, 'the event stream');
        if (!res.body) throw new Error('this browser cannot read a streamed response');
        if (gen !== stream.gen) return null;
        stream.state = 'live'; stream.attempt = 0; stream.error = '';
        showConn();
        armWatchdog(gen);
        return readEvents(res.body.getReader(), gen);
      })
      .then(function () { if (gen === stream.gen && !stream.error) stream.error = 'the stream ended'; },
        function (e) {
          if (gen !== stream.gen) return;
          if (e && e.fatal) {
            stream.state = 'error';
            stream.error = e.message;
            return;
          }
          if (!stream.error) stream.error = e && e.name === 'AbortError' ? 'aborted' : (e && e.message) || String(e);
        })
      .then(function () {
        if (gen !== stream.gen) return;
        clearTimeout(stream.watchdog);
        if (stream.state === 'error') {
          setText($('ro-state'), stream.error + '.');
          showConn();
          return;
        }
        retry(gen);
      });
  }

  function retry(gen) {
    var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, stream.attempt));
    delay += Math.floor(Math.random() * 250);
    stream.attempt++;
    stream.state = 'reconnecting';
    stream.retryAt = Date.now() + delay;
    showConn();
    var tick = setInterval(function () {
      if (gen !== stream.gen || stream.state !== 'reconnecting') clearInterval(tick);
      else showConn();
    }, 1000);
    stream.timer = setTimeout(function () {
      clearInterval(tick);
      if (gen !== stream.gen) return;
      stream.error = '';
      connect(gen);
    }, delay);
  }

  /* The SSE wire format (HTML Living Standard, "Server-sent events"):
   * lines; "field: value"; a blank line dispatches; ":" starts a comment. */
  function readEvents(reader, gen) {
    var dec = new TextDecoder();
    var buf = '';
    var ev = { type: '', data: [], id: null };
    function line(l) {
      if (l.charAt(l.length - 1) === '\r') l = l.slice(0, -1);
      if (l === '') {
        if (ev.id !== null) stream.lastEventId = ev.id;
        if (ev.data.length) dispatch(ev.type || 'message', ev.data.join('\n'));
        ev = { type: '', data: [], id: null };
        return;
      }
      if (l.charAt(0) === ':') return; /* ": ping" keeps the stream and the watchdog alive */
      var at = l.indexOf(':');
      var field = at < 0 ? l : l.slice(0, at);
      var value = at < 0 ? '' : l.slice(at + 1);
      if (value.charAt(0) === ' ') value = value.slice(1);
      if (field === 'event') ev.type = value;
      else if (field === 'data') ev.data.push(value);
      else if (field === 'id' && value.indexOf('\0') < 0) ev.id = value;
    }
    function pump() {
      return reader.read().then(function (r) {
        if (gen !== stream.gen) { reader.cancel(); return; }
        if (r.done) return;
        armWatchdog(gen);
        buf += dec.decode(r.value, { stream: true });
        var nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          line(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
        return pump();
      });
    }
    return pump();
  }

  function dispatch(type, data) {
    var obj;
    try { obj = JSON.parse(data); } catch (e) { return; }
    if (type === 'rollout') drawRollout(obj);
    else if (type === 'log') addLog(obj);
  }

  /* ---- one rollout: drawing --------------------------------------------- */

  function regionOrder(ro) {
    var names = [];
    (ro.phases || []).forEach(function (p) {
      (p.regions || []).forEach(function (r) { if (names.indexOf(r.name) < 0) names.push(r.name); });
    });
    return names;
  }

  function gateFor(ro, phase) {
    var g = null;
    (ro.gates || []).forEach(function (x) { if (x.phase === phase) g = x; });
    if (ro.gate && ro.gate.phase === phase) g = ro.gate;
    return g;
  }

  function gateWords(ro, g) {
    if (!g) return '';
    var w = g.waiting_for;
    var approvals = g.approvals_needed ? 'approvals ' + g.approvals + '/' + g.approvals_needed +
      (g.approved_by && g.approved_by.length ? ' (' + g.approved_by.join(', ') + ')' : '') : '';
    if (w === 'approval') return 'gate waits for approval ' + g.approvals + '/' + g.approvals_needed +
      (g.approved_by && g.approved_by.length ? ' (approved by ' + g.approved_by.join(', ') + ')' : '');
    if (w === 'window') return 'gate waits for its window: opens ' + stamp(g.window_opens_ms) +
      (g.window_tz ? ' (' + g.window_tz + ')' : '');
    if (w === 'soak') return 'gate: soak ' + dur(g.soak_served_ms) + ' of ' + dur(g.soak_ms);
    if (w === 'samples') return 'gate waits for health samples ' + g.samples + '/' + g.min_samples;
    if (w) return 'gate waits for ' + w;
    if (g.outcome) return 'gate ' + g.outcome + (g.soak_ms ? ' (soak ' + dur(g.soak_ms) + ')' : '') +
      (approvals ? ', ' + approvals : '');
    return '';
  }

  function failedGateChecks(g) {
    return ((g && g.judged) || []).filter(function (j) { return !j.passed; }).map(function (j) {
      return j.gate + ' in ' + j.region + '/' + j.database + ': ' + j.value + ' > ' + j.threshold +
        (j.erred ? ' (could not be measured)' : '');
    });
  }

  function progressBar(label, value, max, figures) {
    var attrs = { max: max > 0 ? max : 1, 'aria-label': label };
    if (value !== null) attrs.value = Math.max(0, Math.min(value, max > 0 ? max : 1));
    return h('div', { class: 'bar' }, h('progress', attrs, figures), h('span', { class: 'fig' }, figures));
  }

  /* A backfill's or a move's figures, from a database's "backfill" object. */
  function backfillBar(where, b) {
    var parts = [];
    var pct = b.percent >= 0 ? b.percent : null;
    if (b.move) {
      var m = b.move;
      parts.push('move ' + (m.phase || '') + (m.table ? ' ' + m.table : '') + (m.from ? ' ' + m.from + '\u2192' + m.to : ''));
      if (m.bytes_total > 0) parts.push(bytes(m.bytes) + '/' + bytes(m.bytes_total));
      else if (m.bytes) parts.push(bytes(m.bytes));
      if (m.lag_ms) parts.push('lag ' + dur(m.lag_ms));
      if (m.changes) parts.push(num(m.changes) + ' changes');
      if (pct === null && m.bytes_total > 0) pct = Math.min(99, Math.floor(100 * m.bytes / m.bytes_total));
    } else parts.push((b.kind || 'backfill') + ' ' + (b.step || ''));
    if (pct !== null) parts.push(pct + '%');
    if (b.rows_total > 0) parts.push(num(b.rows_scanned) + '/' + num(b.rows_total) + ' rows' +
      (b.rows_done !== b.rows_scanned ? ' (' + num(b.rows_done) + ' changed)' : ''));
    else if (b.rows_scanned) parts.push(num(b.rows_scanned) + ' rows');
    if (b.paused || b.throttle) parts.push('paused: ' + (b.throttle || 'throttled'));
    else {
      if (b.rate > 0) parts.push(num(Math.round(b.rate)) + ' rows/s');
      if (b.eta_ms > 0) parts.push('ETA ' + dur(b.eta_ms));
    }
    if (b.batch_size) parts.push('batch ' + num(b.batch_size));
    if (b.throttled_ms) parts.push('throttled ' + dur(b.throttled_ms) + ' so far');
    return progressBar(where + ' ' + (b.kind || 'backfill') + ' progress', pct, 100, where + ': ' + parts.join(' · '));
  }

  function errorLines(where, step, e) {
    return [
      h('p', { class: 'err' }, 'failed in ' + where + (step ? ' at step ' + step : '') +
        (e.sqlstate ? ' \u2014 SQLSTATE ' + e.sqlstate : (e.code ? ' (' + e.code + ')' : ''))),
      h('p', { class: 'errx' }, e.message),
      e.detail ? h('p', { class: 'errx' }, 'detail: ' + e.detail) : null,
      e.hint ? h('p', { class: 'errx' }, 'hint: ' + e.hint) : null
    ];
  }

  function cell(ro, phase, r) {
    var k = kind(r.state);
    var where = r.name + (r.database ? '/' + r.database : '');
    var kids = [h('div', { class: 'cell-head' }, badge(r.state), h('span', { class: 'cell-where' }, where))];
    var steps = r.steps_done + '/' + r.steps_total + ' steps';
    if (r.step) steps += (terminal(r.state) ? ' · last ' : ' · at ') + r.step;
    kids.push(h('p', { class: 'step' }, steps));
    if (r.steps_total > 0)
      kids.push(progressBar(r.name + ' steps', r.steps_done, r.steps_total, r.steps_done + ' of ' + r.steps_total + ' steps'));
    var waits = [];
    (ro.region_pauses || []).forEach(function (p) {
      if (p.region === r.name)
        waits.push('paused by ' + p.operator + ' at ' + clock(p.at_ms) + ' UTC' + (p.reason ? ': ' + p.reason : ''));
    });
    /* One database: its own line below says the same as the region's. */
    if (r.detail && (r.databases || []).length !== 1) waits.push(r.detail);
    waits.forEach(function (w) { kids.push(h('p', { class: 'detail' + (terminal(r.state) ? '' : ' waitline') }, w)); });
    var dbs = (r.databases || []).map(function (d) {
      var bits = [d.name + ': ', badge(d.state), ' ' + d.steps_done + '/' + d.steps_total + ' steps',
        d.step ? ' at ' + d.step : ''];
      if (d.detail) bits.push(h('span', { class: 'waitline' }, ' ' + d.detail));
      if (d.blocker_pid) bits.push(' (lock held by pid ' + d.blocker_pid + ')');
      var li = h('li', null, bits);
      if (d.backfill) append(li, backfillBar(r.name + '/' + d.name, d.backfill));
      return li;
    });
    if (dbs.length) kids.push(h('ul', { class: 'dbs', 'aria-label': 'databases in ' + r.name }, dbs));
    if (r.error) kids = kids.concat(errorLines(where, r.step, r.error));
    return h('td', {
      class: 'cell c-' + k, 'data-phase': phase.name, 'data-region': r.name, 'data-state': r.state
    }, kids);
  }

  function drawGrid(ro) {
    var regions = regionOrder(ro);
    var n = (ro.phases || []).length;
    var head = h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Phase'),
      regions.map(function (r) { return h('th', { scope: 'col' }, r); })));
    var body = h('tbody', null, (ro.phases || []).map(function (p, i) {
      var g = gateFor(ro, p.name);
      var gw = gateWords(ro, g);
      var bad = failedGateChecks(g);
      var row = h('tr', { 'data-phase': p.name },
        h('th', { scope: 'row' }, (i + 1) + '/' + n + ' ' + p.name + ' ', badge(p.state),
          gw ? h('span', { class: 'phase-gate' }, gw) : null,
          bad.map(function (b) { return h('span', { class: 'phase-gate err' }, 'failed check: ' + b); })));
      regions.forEach(function (name) {
        var r = null;
        (p.regions || []).forEach(function (x) { if (x.name === name) r = x; });
        append(row, r ? cell(ro, p, r) : h('td', { class: 'none' }, h('span', { class: 'sr' }, 'not in this phase')));
      });
      return row;
    }));
    replaceKids($('grid'), h('caption', { class: 'sr' }, 'Phases of ' + ro.id + ' (rows) by region (columns)'), head, body);
  }

  function cmd(text, why) {
    return h('li', null, h('code', { class: 'cmd' }, text), why ? ' \u2014 ' + why : '');
  }

  function drawRollout(ro) {
    if (!ro || ro.id !== stream.id) return;
    shown.ro = ro;
    if (patchList(ro)) drawList();
    var n = (ro.phases || []).length;
    var cur = ro.phases && ro.phases[ro.current_phase];
    setText($('ro-title'), 'Rollout ' + ro.id + ' \u00b7 plan ' + (ro.plan_name || ro.plan || ''));
    var st = $('ro-state');
    replaceKids(st, badge(ro.state),
      cur ? ' phase ' + (ro.current_phase + 1) + '/' + n + ' ' + cur.name : '',
      ro.mode && ro.mode !== 'apply' ? ' \u00b7 ' + ro.mode + (ro.of_rollout ? ' of ' + ro.of_rollout : '') : '');
    document.body.setAttribute('data-rollout-state', ro.state);
    var meta = 'started ' + stamp(ro.created_ms) + ' by ' + (ro.started_by || '?');
    if (ro.finished_ms) meta += ' \u00b7 finished ' + stamp(ro.finished_ms) + ' (took ' + dur(ro.finished_ms - ro.created_ms) + ')';
    else if (ro.created_ms) meta += ' \u00b7 running for ' + dur(Date.now() - ro.created_ms);
    meta += ' \u00b7 plan ' + (ro.plan_id || '');
    setText($('ro-meta'), meta);

    var waits = [];
    if (ro.paused) waits.push('Paused by ' + ro.paused.operator + ' at ' + stamp(ro.paused.at_ms) +
      (ro.paused.reason ? ': ' + ro.paused.reason : '') + (ro.paused_by_line ? ' (the line is stopped)' : ''));
    if (ro.waits_for) waits.push('Waits for ' + ro.waits_for +
      (ro.gate ? ' (gate of phase ' + ro.gate.phase + ')' : ''));
    $('ro-waits').hidden = waits.length === 0;
    setText($('ro-waits'), waits.join(' \u00b7 '));

    drawFailure(ro);
    drawGrid(ro);
  }

  function drawFailure(ro) {
    var errs = [];
    (ro.phases || []).forEach(function (p) {
      (p.regions || []).forEach(function (r) {
        if (r.error) errs.push({ phase: p.name, region: r.name, database: r.database, step: r.step, e: r.error });
      });
    });
    var failed = kind(ro.state) === 'bad' || errs.length > 0;
    var id = ro.id;
    var next = [];
    if (failed) {
      var items = errs.map(function (x) {
        return h('li', null, h('strong', null, 'region ' + x.region + (x.database ? ', database ' + x.database : '') +
          (x.step ? ', step ' + x.step : '') + (x.e.sqlstate ? ', SQLSTATE ' + x.e.sqlstate : '')), ': ' + x.e.message,
          x.e.hint ? ' (hint: ' + x.e.hint + ')' : '');
      });
      if (!items.length || (ro.reason && errs.every(function (x) { return x.e.message !== ro.reason; })))
        items.push(h('li', null, ro.reason || 'the rollout ' + ro.state));
      replaceKids($('failure-list'), items);
      next.push(cmd('skein rollout report ' + id, 'the execution record: what ran where, and the errors'));
      if (ro.rollback_command) next.push(cmd(ro.rollback_command, 'revert what the rollout applied'));
      else if (ro.mode === 'apply') next.push(cmd('skein rollout rollback ' + id, 'revert what it applied, once the cause is understood'));
      next.push(cmd('skein rollout status ' + id, 'the same state on the command line'));
      replaceKids($('next'), next);
      $('failure').hidden = false;
      $('next-ok').hidden = true;
      return;
    }
    $('failure').hidden = true;
    if (ro.paused) next.push(cmd('skein rollout resume ' + id, 'go on after the pause'));
    (ro.region_pauses || []).forEach(function (p) {
      next.push(cmd('skein rollout resume ' + id + ' --region ' + p.region, 'resume region ' + p.region));
    });
    if (ro.gate && ro.gate.waiting_for === 'approval')
      next.push(cmd('skein rollout approve ' + id + ' --phase ' + ro.gate.phase, 'an approver approves phase ' + ro.gate.phase));
    if (terminal(ro.state)) next.push(cmd('skein rollout report ' + id, 'the execution record'));
    else if (!next.length) next.push(cmd('skein rollout wait ' + id, 'follow it in a terminal'));
    replaceKids($('next-ok-list'), next);
    $('next-ok').hidden = next.length === 0;
  }

  function addLog(e) {
    var seq = e.seq !== undefined ? String(e.seq) : null;
    if (seq !== null) {
      if (shown.seqs.has(seq)) return;
      shown.seqs.add(seq);
    }
    var tl = $('timeline');
    var atEnd = tl.scrollTop + tl.clientHeight >= tl.scrollHeight - 4;
    var ms = toMs(e.time);
    var msg = String(e.message || '');
    var bad = /\bfailed\b|\bhalted\b|\brefused\b|SQLSTATE/.test(msg);
    var where = e.region || '';
    tl.appendChild(h('li', { 'data-seq': seq },
      h('span', { class: 't' }, ms ? clock(ms) : ''),
      h('span', { class: 'r' }, where),
      h('span', { class: bad ? 'bad' : null }, (e.step && msg.indexOf(e.step) < 0 ? e.step + ': ' : '') + msg)));
    while (tl.childNodes.length > TIMELINE_MAX) tl.removeChild(tl.firstChild);
    if (atEnd) tl.scrollTop = tl.scrollHeight;
  }

  /* The execution record, read when it is opened (with the token, which a
   * plain link could not send), shown as the JSON it is. */
  function loadReport() {
    var id = stream.id;
    var body = $('report-body');
    if (!$('report').open || id === null) return;
    setText(body, 'loading…');
    getJSON('/rollouts/' + encodeURIComponent(id) + '/report').then(function (rep) {
      if (id === stream.id) setText(body, JSON.stringify(rep, null, 2));
    }).catch(function (e) {
      if (id !== stream.id) return;
      setText(body, (/404/.test(e.message) ?
        'The coordinator has no execution record of this rollout (404).' :
        'Cannot read the execution record: ' + e.message + '.') +
        '\nIn a terminal: skein rollout report ' + id);
    });
  }

  function route() {
    /* A new token: read the list and the agents with it now. */
    if (takeToken() && list.ok !== null) { loadList(); loadRegions(); }
    var id = routeId();
    select(id);
    if (id !== null) $('main').focus({ preventScroll: true });
  }

  window.addEventListener('hashchange', route);
  $('report').addEventListener('toggle', loadReport);
  route();
  loadList();
  loadRegions();
})();
