// sdk.js is a simulated Meta JavaScript SDK for sandbox mode. It is served
// only when the page function runs with SANDBOX=true, and talks to the
// simulators the local stack mounts under /_sim/.
//
// FB.login opens an in-page dialog standing in for Meta's Embedded Signup
// window. The customer picks an outcome:
//   - finish: the Meta simulator issues a real single-use code for the IDs
//     in the form; the dialog posts a WA_EMBEDDED_SIGNUP FINISH message and
//     calls the login callback with the code, in the chosen order;
//   - the number the customer finishes with: verified, unverified (Graph
//     then reports code_verification_status NOT_VERIFIED) or none (v4's
//     finish without a number);
//   - cancel at a step: a CANCEL message with current_step (the steps
//     Meta documents), no code;
//   - error: Meta's user-reported error, a CANCEL message with
//     error_message, error_code, session_id and timestamp, or an ERROR
//     message with the same fields; no code;
//   - closing the window (×, Escape, Cancel): no message, no code, as
//     before the first screen that has a current_step.
// Like Meta, FB.login refuses options that do not match the app's login
// configuration (/_sim/local/meta/login): its config_id, response_type
// "code" with override_default_response_type, and exactly the extras of
// the configured Embedded Signup version with the solution ID. v2's
// sessionInfoVersion is refused as such; any other difference, a
// featureType the configuration does not use included, as a mismatch.
// When the SDK is served from another origin than the page (the local
// stack's second port, as Meta serves its SDK from connect.facebook.net),
// messages are posted from that origin by a relay frame (xd.html), and the
// page accepts that origin only. Served from the page's own origin, the SDK
// posts from there.
(function () {
  'use strict';

  var data = document.body.dataset;
  var script = document.currentScript;
  var sdkOrigin = script && script.src ? new URL(script.src).origin : window.location.origin;
  var relay = sdkOrigin !== window.location.origin ? startRelay(new URL('xd.html', script.src)) : null;
  var sim = data.simUrl || '/_sim';
  var query = new URLSearchParams(window.location.search);

  // Meta's documented current_step values (Embedded Signup flow errors,
  // "Abandoned flow screens").
  var STEPS = [
    ['BUSINESS_ACCOUNT_SELECTION', 'Business portfolio'],
    ['WABA_PHONE_PROFILE_PICKER', 'WhatsApp Business Account selection'],
    ['WHATSAPP_BUSINESS_PROFILE_SETUP', 'WhatsApp Business Account creation'],
    ['PHONE_NUMBER_SETUP', 'Phone number setup'],
    ['PHONE_NUMBER_VERIFICATION', 'Phone number verification'],
    ['PERMISSIONS', 'Permissions']
  ];
  // How Meta reports an error the customer met in its window.
  var ERROR_EVENTS = [
    ['CANCEL', 'CANCEL with error_message (user-reported error)'],
    ['ERROR', 'ERROR']
  ];
  var ORDERS = [
    ['ids-first', 'Session info, then code'],
    ['code-first', 'Code, then session info'],
    ['code-only', 'Code only (no session info)']
  ];
  // Meta's finish events (Implementation, "Successful flow completion
  // structure"), each with the same session info.
  var EVENTS = ['FINISH', 'FINISH_ONLY_WABA', 'FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING', 'FINISH_OBO_MIGRATION',
    'FINISH_GRANT_ONLY_API_ACCESS'];
  // The number the customer finishes FINISH with (Embedded Signup v3+).
  var NUMBERS = [
    ['verified', 'Verified number'],
    ['unverified', 'Number not verified'],
    ['none', 'No number']
  ];
  // What Meta does with the code the backend exchanges.
  var META = [
    ['ok', 'Accepts the code'],
    ['expired', 'Code expired'],
    ['used', 'Code already used']
  ];
  // What Plivo answers the backend's Embedded Signup call. "n" is how many
  // calls fail: one signup request makes up to two Plivo attempts (and a
  // 401 is retried once with fresh credentials), so the counts below make
  // the request end pending and the resume function finish the job.
  var PLIVO = [
    ['ok', 'Onboards the WABA'],
    ['500', '500 twice, then onboards'],
    ['401', '401 (credentials refused), then onboards'],
    ['403', '403 (not a Tech Provider), then onboards'],
    ['inactive', 'Multi-Partner Solution not active, then onboards'],
    ['registered', 'WABA already registered'],
    ['phone-taken', 'Number under another WABA'],
    ['undocumented', 'A 4xx Plivo does not document, then onboards']
  ];

  var state = { appId: '', version: '', open: null };

  // randomID returns a 15-digit Meta-like object ID.
  function randomID() {
    var a = new Uint8Array(15);
    window.crypto.getRandomValues(a);
    var s = String(1 + (a[0] % 9));
    for (var i = 1; i < 15; i++) s += String(a[i] % 10);
    return s;
  }

  // randomSessionID returns 15 hex digits, the shape of Meta's Embedded
  // Signup session IDs (f34b51dab5e0498 in Meta's docs).
  function randomSessionID() {
    var a = new Uint8Array(15);
    window.crypto.getRandomValues(a);
    var s = '';
    for (var i = 0; i < 15; i++) s += (a[i] % 16).toString(16);
    return s;
  }

  function h(tag, attrs, children) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') n.textContent = attrs[k];
      else if (k === 'checked' || k === 'selected' || k === 'value') n[k] = attrs[k];
      else n.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) n.appendChild(c); });
    return n;
  }

  function field(id, label, value, extra) {
    var attrs = { id: id, name: id, type: 'text', value: value, autocomplete: 'off', spellcheck: 'false', class: 'sbx-input' };
    Object.keys(extra || {}).forEach(function (k) { attrs[k] = extra[k]; });
    return h('label', { class: 'sbx-field', for: id }, [h('span', { text: label }), h('input', attrs)]);
  }

  function select(id, label, options, value) {
    var s = h('select', { id: id, name: id, class: 'sbx-input' }, options.map(function (o) {
      return h('option', { value: o[0], text: o[1], selected: o[0] === value });
    }));
    return h('label', { class: 'sbx-field', for: id }, [h('span', { text: label }), s]);
  }

  function choice(value, title, hint, panel, checked) {
    var input = h('input', { type: 'radio', name: 'sbx-outcome', id: 'sbx-outcome-' + value, value: value, checked: !!checked });
    return h('div', { class: 'sbx-choice' }, [
      h('label', { class: 'sbx-choice-head', for: 'sbx-outcome-' + value }, [
        input,
        h('span', {}, [h('strong', { text: title }), h('small', { text: hint })])
      ]),
      h('div', { class: 'sbx-panel', 'data-for': value }, panel)
    ]);
  }

  function dialog() {
    var order = query.get('sandbox_order');
    if (!ORDERS.some(function (o) { return o[0] === order; })) order = 'ids-first';
    var n4 = String(1000 + Math.floor(Math.random() * 9000));
    var box = h('div', { class: 'sbx-dialog', id: 'sbx-dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'sbx-title' }, [
      h('div', { class: 'sbx-top' }, [
        h('span', { class: 'sbx-logo', 'aria-hidden': 'true' }),
        h('span', { class: 'sbx-top-title', text: 'Meta Embedded Signup' }),
        h('span', { class: 'sbx-tag', text: 'Sandbox' }),
        h('button', { type: 'button', class: 'sbx-x', id: 'sbx-close', 'aria-label': 'Close window', text: '×' })
      ]),
      h('div', { class: 'sbx-body' }, [
        h('h2', { id: 'sbx-title', text: 'How should this signup end?' }),
        h('p', { class: 'sbx-sub', text: 'This window stands in for Meta\'s. Choose what the customer does; the page and the backend react as they would with Meta.' }),
        h('form', { id: 'sbx-form', novalidate: 'novalidate' }, [
          choice('finish', 'Finish signup', 'Share a WhatsApp Business Account and a verified number', [
            h('div', { class: 'sbx-grid' }, [
              field('sbx-waba-id', 'WABA ID', randomID(), { inputmode: 'numeric' }),
              field('sbx-phone-number-id', 'Phone number ID', randomID(), { inputmode: 'numeric' }),
              field('sbx-business-id', 'Business portfolio ID', randomID(), { inputmode: 'numeric' }),
              field('sbx-display-phone', 'Display phone number', '+1 555-010-' + n4),
              select('sbx-event', 'Event', EVENTS.map(function (e) { return [e, e]; }), query.get('sandbox_event') || 'FINISH'),
              select('sbx-number', 'Phone number', NUMBERS, query.get('sandbox_number') || 'verified'),
              select('sbx-order', 'Arrival order', ORDERS, order),
              select('sbx-meta', 'Meta', META, query.get('sandbox_meta') || 'ok'),
              select('sbx-plivo', 'Plivo', PLIVO, query.get('sandbox_plivo') || 'ok')
            ])
          ], true),
          choice('cancel', 'Cancel at a step', 'Close the window part-way through', [
            select('sbx-step', 'Current step', STEPS, 'PHONE_NUMBER_SETUP')
          ]),
          choice('error', 'Report an error', 'Meta shows an error and the customer gives up', [
            h('div', { class: 'sbx-grid' }, [
              select('sbx-error-event', 'Event', ERROR_EVENTS, 'CANCEL'),
              field('sbx-error-code', 'Error code', String(524126 + Math.floor(Math.random() * 1000)), { inputmode: 'numeric' }),
              field('sbx-session-id', 'Session ID', randomSessionID()),
              field('sbx-error-message', 'Error message', 'The phone number could not be verified. Try again later.')
            ])
          ])
        ]),
        h('p', { class: 'sbx-error', id: 'sbx-problem', role: 'alert', hidden: 'hidden' })
      ]),
      h('div', { class: 'sbx-foot' }, [
        h('button', { type: 'button', class: 'sbx-btn', id: 'sbx-cancel', text: 'Cancel' }),
        h('button', { type: 'button', class: 'sbx-btn sbx-btn-primary', id: 'sbx-continue', text: 'Continue' })
      ])
    ]);
    return h('div', { class: 'sbx-overlay', id: 'sbx-overlay' }, [box]);
  }

  // post sends msg to the page from the SDK's origin; the promise settles
  // once the page has been sent it.
  function post(msg) {
    if (!relay) {
      window.postMessage(JSON.stringify(msg), window.location.origin);
      return Promise.resolve();
    }
    return relay.send(JSON.stringify(msg));
  }

  // startRelay frames xd.html from the SDK's origin. Messages wait until it
  // said it is ready; each is acknowledged after the frame posted it.
  function startRelay(src) {
    src.search = '?origin=' + encodeURIComponent(window.location.origin);
    var frame = document.createElement('iframe');
    frame.src = src.href;
    frame.title = 'Sandbox Meta relay';
    frame.hidden = true;
    var ready = false, queue = [], waiting = {}, next = 0;
    window.addEventListener('message', function (ev) {
      if (ev.origin !== sdkOrigin || ev.source !== frame.contentWindow) return;
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m && m.type === 'SBX_RELAY_READY') {
        ready = true;
        queue.splice(0).forEach(function (req) { frame.contentWindow.postMessage(req, sdkOrigin); });
      } else if (m && m.type === 'SBX_RELAYED' && waiting[m.id]) {
        waiting[m.id]();
        delete waiting[m.id];
      }
    });
    document.body.appendChild(frame);
    return {
      send: function (message) {
        var id = String(++next);
        var req = JSON.stringify({ type: 'SBX_RELAY', id: id, message: message });
        return new Promise(function (resolve) {
          waiting[id] = resolve;
          if (ready) frame.contentWindow.postMessage(req, sdkOrigin);
          else queue.push(req);
        });
      }
    };
  }

  function value(id) {
    var n = document.getElementById(id);
    return n ? String(n.value).trim() : '';
  }

  function outcome() {
    var n = document.querySelector('input[name="sbx-outcome"]:checked');
    return n ? n.value : 'finish';
  }

  function syncPanels() {
    var o = outcome();
    Array.prototype.forEach.call(document.querySelectorAll('.sbx-panel'), function (p) {
      p.hidden = p.getAttribute('data-for') !== o;
    });
  }

  function close() {
    var o = document.getElementById('sbx-overlay');
    if (o) o.parentNode.removeChild(o);
    document.removeEventListener('keydown', onKey);
    state.open = null;
  }

  function onKey(ev) {
    if (ev.key === 'Escape' && state.open) abandon();
  }

  // abandon is the customer closing the window before any screen Meta
  // names in a CANCEL's current_step (those are "Cancel at a step"): the
  // callback gets no code and no message says where.
  function abandon() {
    var cb = state.open && state.open.cb;
    close();
    setTimeout(function () { if (cb) cb({ authResponse: null, status: 'unknown' }); }, 0);
  }

  function fail(msg) {
    var p = document.getElementById('sbx-problem');
    p.textContent = msg;
    p.hidden = false;
    var btn = document.getElementById('sbx-continue');
    btn.disabled = false;
    btn.textContent = 'Continue';
  }

  function postJSON(path, body) {
    return fetch(sim + path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
      return res.status === 204 ? null : res.json();
    });
  }

  // plivoScenario tells the Plivo simulator how to answer this signup.
  function plivoScenario(name, ids) {
    var fail = function (n, kind) { return postJSON('/plivo/scenario', { route: 'signup', n: n, kind: kind }); };
    switch (name) {
      case '500': return fail(2, 'internal');
      case '401': return fail(2, 'unauthorized');
      case '403': return fail(1, 'forbidden');
      case 'inactive': return fail(1, 'solution_inactive');
      case 'undocumented': return fail(2, 'undocumented');
      case 'registered':
        return postJSON('/plivo/scenario', { preregister: { waba_id: ids.waba_id, phone_number_id: ids.phone_number_id || randomID() } });
      case 'phone-taken':
        return postJSON('/plivo/scenario', { preregister: { waba_id: randomID(), phone_number_id: ids.phone_number_id || randomID() } });
    }
    return Promise.resolve(null);
  }

  // metaScenario spoils the code the way the customer chose.
  function metaScenario(name, code) {
    if (name === 'used') return postJSON('/local/meta/spend', { code: code });
    if (name === 'expired') return postJSON('/local/meta/expire', {});
    return Promise.resolve(null);
  }

  function finish(cb) {
    var ids = {
      waba_id: value('sbx-waba-id'),
      phone_number_id: value('sbx-phone-number-id'),
      business_id: value('sbx-business-id')
    };
    var event = value('sbx-event') || 'FINISH';
    var order = value('sbx-order') || 'ids-first';
    var display = value('sbx-display-phone');
    var number = value('sbx-number') || 'verified';
    var withNumber = event !== 'FINISH_ONLY_WABA' && number !== 'none';
    if (!/^[1-9][0-9]{0,19}$/.test(ids.waba_id) || !/^[1-9][0-9]{0,19}$/.test(ids.business_id) ||
        (withNumber && !/^[1-9][0-9]{0,19}$/.test(ids.phone_number_id))) {
      fail('IDs are Meta object IDs: digits only, not starting with 0.');
      return;
    }
    var setup = (state.open.opts.extras || {}).setup || {};
    var grant = { waba_id: ids.waba_id, business_id: ids.business_id, phone_numbers: [], solution_id: setup.solutionID || '' };
    if (withNumber) {
      grant.phone_numbers.push({ id: ids.phone_number_id, display_phone_number: display, verified_name: 'Sandbox Business',
        code_verification_status: number === 'unverified' ? 'NOT_VERIFIED' : 'VERIFIED' });
    } else {
      ids.phone_number_id = '';
    }
    var btn = document.getElementById('sbx-continue');
    btn.disabled = true;
    btn.textContent = 'Finishing…';
    var code = '';
    plivoScenario(value('sbx-plivo'), ids).then(function () {
      return postJSON('/meta/codes', grant);
    }).then(function (body) {
      if (!body || !body.code) throw new Error('no code in the answer');
      code = body.code;
      return metaScenario(value('sbx-meta'), code);
    }).then(function () {
      close();
      var data = { waba_id: ids.waba_id, business_id: ids.business_id };
      if (withNumber) data.phone_number_id = ids.phone_number_id;
      var message = function () { return post({ type: 'WA_EMBEDDED_SIGNUP', event: event, version: '3', data: data }); };
      var callback = function () {
        cb({
          authResponse: { code: code, userID: '', expiresIn: 0, signedRequest: '', graphDomain: 'facebook', data_access_expiration_time: 0 },
          status: 'connected'
        });
      };
      if (order === 'code-first') {
        callback();
        setTimeout(message, 150);
      } else if (order === 'code-only') {
        callback();
      } else {
        message().then(function () { setTimeout(callback, 150); });
      }
    }).catch(function (e) {
      fail('The simulators did not answer (' + e.message + '). Is the local stack running in sandbox mode?');
    });
  }

  function submit() {
    var cb = state.open.cb;
    var o = outcome();
    if (o === 'finish') {
      finish(cb);
      return;
    }
    // Read the form before close() takes it out of the page.
    var event = o === 'cancel' ? 'CANCEL' : (value('sbx-error-event') || 'CANCEL');
    var data = o === 'cancel'
      ? { current_step: value('sbx-step') }
      : {
        error_message: value('sbx-error-message') || 'Something went wrong.',
        error_code: value('sbx-error-code'),
        session_id: value('sbx-session-id'),
        timestamp: String(Math.floor(Date.now() / 1000))
      };
    close();
    post({ type: 'WA_EMBEDDED_SIGNUP', event: event, version: '3', data: data }).then(function () {
      setTimeout(function () { cb({ authResponse: null, status: 'unknown' }); }, 0);
    });
  }

  // loginProblem says why Meta would not run Embedded Signup with opts for
  // the app's login configuration, or returns ''.
  function loginProblem(opts, login) {
    var extras = opts.extras || {};
    if (!opts.config_id || opts.config_id !== login.config_id) return 'config_id ' + JSON.stringify(opts.config_id) + ' is not the app\'s login configuration';
    if (opts.response_type !== 'code' || opts.override_default_response_type !== true) return 'Embedded Signup needs response_type "code" and override_default_response_type true';
    // sessionInfoVersion is v2's request for the session info, which later
    // versions send for every flow. featureType is not v2's alone: v4
    // still takes whatsapp_business_app_onboarding, so it is only a
    // mismatch with the configuration, below.
    if ('sessionInfoVersion' in extras) return 'extras has v2\'s sessionInfoVersion; ' + login.es_version + ' sends the session info for every flow and takes ' + JSON.stringify(login.extras);
    if (!extras.setup || !extras.setup.solutionID) return 'extras.setup.solutionID is missing: the WABA would not be created under the Multi-Partner Solution';
    if (JSON.stringify(extras) !== JSON.stringify(login.extras)) return 'extras ' + JSON.stringify(extras) + ' do not match ' + login.es_version + ': ' + JSON.stringify(login.extras);
    return '';
  }

  function login(cb, opts) {
    if (typeof cb !== 'function') throw new Error('FB.login: callback required');
    opts = opts || {};
    // Meta's window is a pop-up, which takes the focus from the page as it
    // opens: the page reads a page that keeps it as a blocked pop-up.
    window.dispatchEvent(new Event('blur'));
    fetch(sim + '/local/meta/login', { method: 'POST', credentials: 'same-origin' }).then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    }).then(function (config) {
      var problem = loginProblem(opts, config);
      if (problem) {
        // Meta shows an error in its window and runs no signup.
        window.console.error('sandbox FB.login refused: ' + problem);
        openRefusal(cb, problem);
        return;
      }
      openDialog(cb, opts);
    }).catch(function (e) {
      window.console.error('sandbox FB.login: the login configuration could not be read (' + e.message + ')');
    });
  }

  function openRefusal(cb, problem) {
    if (state.open) close();
    state.open = { cb: cb, opts: {} };
    var box = h('div', { class: 'sbx-overlay', id: 'sbx-overlay' }, [
      h('div', { class: 'sbx-dialog', id: 'sbx-dialog', role: 'dialog', 'aria-modal': 'true' }, [
        h('div', { class: 'sbx-body' }, [
          h('h2', { id: 'sbx-title', text: 'Sorry, something went wrong.' }),
          h('p', { class: 'sbx-error', id: 'sbx-refusal', role: 'alert', text: problem })
        ]),
        h('div', { class: 'sbx-foot' }, [h('button', { type: 'button', class: 'sbx-btn', id: 'sbx-cancel', text: 'Close' })])
      ])
    ]);
    document.body.appendChild(box);
    document.getElementById('sbx-cancel').addEventListener('click', abandon);
  }

  function openDialog(cb, opts) {
    if (state.open) close();
    state.open = { cb: cb, opts: opts };
    document.body.appendChild(dialog());
    syncPanels();
    document.getElementById('sbx-form').addEventListener('change', syncPanels);
    document.getElementById('sbx-form').addEventListener('submit', function (ev) { ev.preventDefault(); submit(); });
    document.getElementById('sbx-continue').addEventListener('click', submit);
    document.getElementById('sbx-cancel').addEventListener('click', abandon);
    document.getElementById('sbx-close').addEventListener('click', abandon);
    document.addEventListener('keydown', onKey);
    document.getElementById('sbx-continue').focus();
  }

  window.FB = {
    init: function (opts) {
      opts = opts || {};
      state.appId = opts.appId || '';
      state.version = opts.version || '';
    },
    login: login,
    getLoginStatus: function (cb) { if (typeof cb === 'function') cb({ status: 'unknown', authResponse: null }); },
    logout: function (cb) { if (typeof cb === 'function') cb({ status: 'unknown' }); },
    AppEvents: { logEvent: function () {}, logPageView: function () {} },
    sandbox: true
  };

  // Like Meta's SDK: call fbAsyncInit once loaded.
  setTimeout(function () {
    if (typeof window.fbAsyncInit === 'function') window.fbAsyncInit();
  }, 0);
})();
