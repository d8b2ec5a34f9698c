// onboarding.js drives WhatsApp Embedded Signup on the onboarding page.
//
// Meta delivers two things, in either order: the authorization code (to the
// FB.login callback) and the session info (a WA_EMBEDDED_SIGNUP "message"
// event with the WABA, phone number and business IDs). The page posts them
// to the signup API once both are in, or the code alone after a short wait:
// the backend can recover the IDs from Meta.
(function () {
  'use strict';

  var data = document.body.dataset;
  var cfg = {
    appId: data.appId || '',
    configId: data.configId || '',
    graphVersion: data.graphVersion || 'v25.0',
    solutionId: data.solutionId || '',
    signupUrl: data.signupUrl || '/api/whatsapp/embedded-signup',
    sdkUrl: data.sdkUrl || '',
    sandbox: data.sandbox === 'true',
    simUrl: data.simUrl || '',
    origins: (data.origins || '').split(/\s+/).filter(Boolean).map(function (o) {
      return o === 'self' ? window.location.origin : o;
    })
  };

  // How long to wait for the session info once the code is in.
  var IDS_WAIT_MS = 1500;
  // How long to wait for a CANCEL message after a callback without code.
  var CANCEL_WAIT_MS = 800;
  var POLL_FIRST_MS = 1500;
  var POLL_MAX_MS = 15000;
  var POLL_SLOW_AFTER_MS = 10 * 60 * 1000;

  var $ = function (id) { return document.getElementById(id); };
  var el = {
    status: $('status'), chip: $('status-chip'), title: $('status-title'), text: $('status-text'),
    details: $('details'), phoneRow: $('detail-phone'), phone: $('phone-display'),
    phoneID: $('phone-number-id'), waba: $('waba-id'), reference: $('reference'),
    steps: $('steps'), button: $('connect'), buttonLabel: $('connect-label'), fineprint: $('fineprint')
  };

  // A session token handed over by the product that sent the customer here
  // binds the signup to that customer. It is read once and removed from the
  // address bar so it is not bookmarked or shared by accident.
  var linkSession = (function () {
    var params = new URLSearchParams(window.location.search);
    var s = params.get('session') || '';
    if (s && window.history && window.history.replaceState) {
      params.delete('session');
      var q = params.toString();
      window.history.replaceState(null, '', window.location.pathname + (q ? '?' + q : '') + window.location.hash);
    }
    return s;
  })();

  var sdkReady = false;
  var flow = null; // the current attempt; a new click starts a new one
  var seq = 0;

  // ---- rendering -----------------------------------------------------

  var STEP_ORDER = ['connect', 'verify', 'activate'];

  // setSteps marks steps before `active` done, `active` as current (or as
  // failed when failed is true) and the rest as to do.
  function setSteps(active, failed) {
    var idx = active === 'all' ? STEP_ORDER.length : STEP_ORDER.indexOf(active);
    Array.prototype.forEach.call(el.steps.children, function (li) {
      var i = STEP_ORDER.indexOf(li.getAttribute('data-step'));
      var state = 'todo';
      if (i < idx) state = 'done';
      else if (i === idx) state = failed ? 'failed' : 'current';
      li.setAttribute('data-state', state);
      if (state === 'current') li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    });
  }

  // What the button says while the page waits on someone else.
  var BUSY_LABELS = { connecting: 'Waiting for Facebook…', verifying: 'Verifying…', pending: 'Activating…' };

  function render(state, opts) {
    opts = opts || {};
    el.status.setAttribute('data-state', state);
    document.body.setAttribute('data-state', state);
    el.chip.textContent = opts.chip;
    el.title.textContent = opts.title;
    el.text.textContent = opts.text;
    setSteps(opts.step, opts.failed);

    var rec = opts.record;
    if (rec && (rec.phone_number_id || rec.waba_id)) {
      el.details.hidden = false;
      el.phoneRow.hidden = !rec.display_phone_number;
      el.phone.textContent = rec.display_phone_number || '';
      el.phoneID.textContent = rec.phone_number_id || '—';
      el.waba.textContent = rec.waba_id || '—';
    } else {
      el.details.hidden = true;
    }
    if (opts.reference) {
      el.reference.hidden = false;
      el.reference.textContent = 'Reference: ' + opts.reference;
    } else {
      el.reference.hidden = true;
      el.reference.textContent = '';
    }

    var busy = BUSY_LABELS[state];
    el.button.disabled = !!busy || !sdkReady;
    el.button.setAttribute('aria-busy', busy ? 'true' : 'false');
    el.button.hidden = state === 'onboarded' || !!opts.noButton;
    el.fineprint.hidden = state === 'onboarded';
    el.buttonLabel.textContent = busy || opts.button || 'Connect WhatsApp';
  }

  function showIdle() {
    render('idle', {
      chip: 'Not connected', step: 'connect',
      title: 'Ready when you are',
      text: 'Click Connect WhatsApp. A Facebook window opens where you pick your business and verify your number.'
    });
  }

  function showConnecting() {
    render('connecting', {
      chip: 'Connecting', step: 'connect',
      title: 'Finish the steps in the Facebook window',
      text: 'Keep this page open. If you do not see the window, check that your browser did not block the pop-up.'
    });
  }

  function showVerifying(ids) {
    render('verifying', {
      chip: 'Verifying', step: 'verify',
      title: 'Verifying your account with Meta',
      text: 'This usually takes a few seconds.',
      record: ids
    });
  }

  function showPending(rec, slow) {
    render('pending', {
      chip: 'Pending', step: 'activate', record: rec,
      title: 'Meta confirmed your account. Activating your number…',
      text: slow
        ? 'This is taking longer than usual. You can close this page: activation continues in the background and your number appears in your dashboard when it is ready.'
        : 'Our messaging partner is still setting up your number. This page updates by itself; you can also close it, activation continues in the background.'
    });
  }

  function showOnboarded(rec) {
    var number = rec.display_phone_number || ('phone number ID ' + rec.phone_number_id);
    render('onboarded', {
      chip: 'Onboarded', step: 'all', record: rec,
      title: 'WhatsApp is connected',
      text: 'Your number ' + number + ' is onboarded and ready to send and receive messages. You can close this page.'
    });
  }

  // showCancelled reports a flow the customer left before the end.
  function showCancelled(f) {
    var c = f.cancel || {};
    if (c.error) {
      render('failed', {
        chip: 'Failed', step: 'connect', failed: true, button: 'Try again',
        title: 'Meta reported a problem during signup',
        text: '“' + c.error + '” Click Try again to restart the signup. If it happens again, contact support with the reference below.',
        reference: c.errorId ? 'Meta error ' + c.errorId + (c.sessionId ? ', session ' + c.sessionId : '') : ''
      });
      return;
    }
    var step = c.step ? humanStep(c.step) : '';
    render('cancelled', {
      chip: 'Cancelled', step: 'connect', button: 'Start again',
      title: step ? 'Signup cancelled at ' + step : 'Signup cancelled',
      text: (step ? 'You left the Facebook window at the ' + step + ' step (' + c.step + '). ' :
        'The Facebook window was closed before the signup finished. ') +
        'Nothing was connected. Click Start again whenever you are ready.'
    });
  }

  var STEP_NAMES = {
    LOGIN: 'sign-in',
    BUSINESS_ACCOUNT_SELECTION: 'business portfolio',
    BUSINESS_PORTFOLIO_SELECTION: 'business portfolio',
    WABA_SELECTION: 'WhatsApp Business Account',
    WHATSAPP_BUSINESS_PROFILE_SETUP: 'business profile',
    PHONE_NUMBER_SETUP: 'phone number setup',
    PHONE_NUMBER_VERIFICATION: 'phone number verification',
    PERMISSIONS: 'permissions'
  };

  function humanStep(step) {
    return STEP_NAMES[step] || String(step).toLowerCase().replace(/_/g, ' ');
  }

  // Failure copy by API error code: what happened and what to do next.
  var FAILURES = {
    meta_rejected: { step: 'verify', title: 'Meta did not confirm the signup', retry: 'restart',
      next: 'Click Start again and complete the Facebook window once more.' },
    waba_already_registered: { step: 'activate', title: 'This WhatsApp Business Account is already registered', retry: 'restart',
      next: 'Pick another WhatsApp Business Account in the Facebook window, or contact support.' },
    phone_number_registered_elsewhere: { step: 'activate', title: 'This number is already in use', retry: 'restart',
      next: 'Pick or add another phone number in the Facebook window, or contact support to move this one.' },
    conflict: { step: 'verify', title: 'This account is already connected with other details', retry: 'restart',
      next: 'Contact support with the reference below.' },
    upstream_unavailable: { step: 'verify', title: 'A service is not answering right now', retry: 'resend',
      next: 'Wait a minute, then click Try again. You will not need to sign in again.' },
    too_many_requests: { step: 'verify', title: 'Too many attempts', retry: 'resend',
      next: 'Wait a minute, then click Try again.' },
    upstream_error: { step: 'activate', title: 'We could not activate your number', retry: 'restart',
      next: 'Our team has been alerted. Contact support with the reference below.' },
    invalid_request: { step: 'verify', title: 'The signup details were incomplete', retry: 'restart',
      next: 'Click Start again and finish every step in the Facebook window.' },
    internal_error: { step: 'verify', title: 'Something went wrong on our side', retry: 'resend',
      next: 'Click Try again in a minute. If it keeps happening, contact support with the reference below.' },
    network: { step: 'verify', title: 'We could not reach our server', retry: 'resend',
      next: 'Check your internet connection, then click Try again.' },
    // The onboarding link: only the product that sent the customer here
    // can issue a new one, so there is nothing to retry on this page.
    session_missing: { step: 'connect', title: 'Open this page from your onboarding link', retry: 'none', next: '' },
    session_invalid: { step: 'connect', title: 'Your onboarding link cannot be used', retry: 'none', next: '' },
    session_expired: { step: 'connect', title: 'Your onboarding link cannot be used', retry: 'none', next: '' },
    session_used: { step: 'connect', title: 'Your onboarding link cannot be used', retry: 'none', next: '' },
    client_ref_mismatch: { step: 'connect', title: 'This link belongs to another account', retry: 'none',
      next: 'Ask your provider for a new link.' }
  };

  // Failure reasons stored on a failed record (the status API), as codes.
  var REASONS = {
    meta_rejected: 'meta_rejected', meta_unavailable: 'upstream_unavailable',
    waba_already_registered: 'waba_already_registered',
    phone_number_registered_elsewhere: 'phone_number_registered_elsewhere'
  };

  function showFailure(f, code, message, reference, fields) {
    var info = FAILURES[code] || FAILURES.internal_error;
    var text = message ? message.replace(/\s*$/, '') : '';
    if (fields && fields.length) {
      text += (text ? ' ' : '') + fields.map(function (x) { return x.message; }).join(' ');
    }
    if (text && !/[.!?]$/.test(text)) text += '.';
    f.retry = info.retry;
    render('failed', {
      chip: 'Failed', step: info.step, failed: true,
      button: info.retry === 'resend' ? 'Try again' : 'Start again',
      title: info.title,
      text: ((text ? text + ' ' : '') + info.next).trim(),
      reference: reference,
      noButton: info.retry === 'none'
    });
  }

  function showFailedRecord(f, rec) {
    var code = REASONS[rec.failure_reason] || 'upstream_error';
    if (code === 'meta_rejected' || code === 'upstream_unavailable') {
      showFailure(f, code, rec.last_error_message || '', rec.waba_id);
      return;
    }
    showFailure(f, code, '', 'WABA ' + rec.waba_id);
  }

  // ---- the flow ------------------------------------------------------

  function newFlow() {
    seq += 1;
    return { id: seq, code: '', ids: null, cancel: null, loginDone: false, posted: false, done: false,
      idsTimer: 0, cancelTimer: 0, pollTimer: 0, payload: null, retry: 'restart' };
  }

  function clearTimers(f) {
    clearTimeout(f.idsTimer);
    clearTimeout(f.cancelTimer);
    clearTimeout(f.pollTimer);
  }

  function extras() {
    var e = { setup: {}, featureType: '', sessionInfoVersion: '3' };
    if (cfg.solutionId) e.setup.solutionID = cfg.solutionId;
    return e;
  }

  function launch() {
    if (!sdkReady || !window.FB) return;
    if (flow) { flow.done = true; clearTimers(flow); }
    var f = flow = newFlow();
    f.session = sessionFor();
    showConnecting();
    window.FB.login(function (resp) { onLogin(f, resp); }, {
      config_id: cfg.configId,
      response_type: 'code',
      override_default_response_type: true,
      extras: extras()
    });
  }

  function onLogin(f, resp) {
    if (f !== flow || f.done || f.loginDone) return;
    f.loginDone = true;
    var code = resp && resp.authResponse && resp.authResponse.code;
    if (typeof code === 'string' && code) {
      f.code = code;
      maybeSubmit(f);
      return;
    }
    // No code: the customer left. Meta's CANCEL message, which says where,
    // may arrive just after the callback.
    if (f.cancel) finishCancel(f);
    else f.cancelTimer = setTimeout(function () { finishCancel(f); }, CANCEL_WAIT_MS);
  }

  function finishCancel(f) {
    if (f !== flow || f.done || f.code) return;
    f.done = true;
    clearTimers(f);
    showCancelled(f);
  }

  function maybeSubmit(f) {
    if (f.posted || f.done || !f.code) return; // session info alone: wait for the code
    if (f.ids) { submit(f); return; }
    showVerifying(null);
    if (!f.idsTimer) f.idsTimer = setTimeout(function () { submit(f); }, IDS_WAIT_MS);
  }

  function parseMessage(raw) {
    if (typeof raw === 'string') {
      try { return JSON.parse(raw); } catch (e) { return null; }
    }
    return raw && typeof raw === 'object' ? raw : null;
  }

  function idString(v) {
    if (typeof v === 'number') return String(v);
    return typeof v === 'string' ? v.trim() : '';
  }

  window.addEventListener('message', function (ev) {
    if (cfg.origins.indexOf(ev.origin) < 0) return;
    var msg = parseMessage(ev.data);
    if (!msg || msg.type !== 'WA_EMBEDDED_SIGNUP') return;
    var f = flow;
    if (!f || f.done) return;
    var d = msg.data || {};
    var event = String(msg.event || '');
    if (event.indexOf('FINISH') === 0) {
      // FINISH, FINISH_ONLY_WABA, FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING...
      f.ids = {
        waba_id: idString(d.waba_id),
        phone_number_id: idString(d.phone_number_id),
        business_id: idString(d.business_id)
      };
      maybeSubmit(f);
    } else if (event === 'CANCEL') {
      f.cancel = d.error_message
        ? { error: String(d.error_message), errorId: idString(d.error_id), sessionId: idString(d.session_id) }
        : { step: String(d.current_step || '') };
      if (f.loginDone && !f.code) finishCancel(f);
    }
  });

  function submit(f) {
    if (f.posted || f.done) return;
    f.posted = true;
    clearTimeout(f.idsTimer);
    var payload = { code: f.code };
    if (f.ids) {
      ['waba_id', 'phone_number_id', 'business_id'].forEach(function (k) {
        if (f.ids[k]) payload[k] = f.ids[k];
      });
    }
    f.session.then(function (token) {
      if (f !== flow || f.done) return;
      if (token) payload.session = token;
      f.payload = payload;
      send(f);
    });
  }

  // sessionFor resolves to the onboarding session token of a new attempt:
  // the one of the link that opened the page. In sandbox mode without one,
  // the local stack plays the Tech Provider's backend and mints one.
  function sessionFor() {
    if (linkSession || !cfg.sandbox || !cfg.simUrl) return Promise.resolve(linkSession);
    return fetch(cfg.simUrl + '/local/session', { method: 'POST', credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (body) { return (body && body.token) || ''; })
      .catch(function () { return ''; });
  }

  function send(f) {
    showVerifying(f.ids);
    fetch(cfg.signupUrl, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(f.payload)
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (body) {
        answer(f, res.status, body);
      });
    }).catch(function () {
      if (f === flow) showFailure(f, 'network', '', '');
    });
  }

  function answer(f, status, body) {
    if (f !== flow || f.done) return;
    body = body || {};
    var rec = body.record;
    if (status === 200 && rec) {
      f.done = true;
      showOnboarded(rec);
      return;
    }
    if (status === 202 && rec) {
      showPending(rec, false);
      poll(f, rec.waba_id, POLL_FIRST_MS, Date.now());
      return;
    }
    var err = body.error || {};
    if (err.code === 'signup_in_progress' && f.payload && f.payload.waba_id) {
      // Another request (a double click, a second tab) holds this WABA:
      // follow its outcome instead of failing.
      showVerifying(f.ids);
      poll(f, f.payload.waba_id, POLL_FIRST_MS, Date.now());
      return;
    }
    showFailure(f, err.code || (status >= 500 ? 'internal_error' : 'invalid_request'), err.message, body.request_id, err.fields);
  }

  function poll(f, waba, delay, since) {
    clearTimeout(f.pollTimer);
    f.pollTimer = setTimeout(function () {
      // The signup's own session shows the full record; without it the
      // status route answers the state only.
      var headers = { 'Accept': 'application/json' };
      if (f.payload && f.payload.session) headers['X-Onboarding-Session'] = f.payload.session;
      fetch(cfg.signupUrl + '/' + encodeURIComponent(waba), {
        credentials: 'same-origin', cache: 'no-store', headers: headers
      }).then(function (res) {
        return res.json().catch(function () { return null; }).then(function (body) {
          return { status: res.status, body: body || {} };
        });
      }).then(function (r) {
        if (f !== flow || f.done) return;
        var rec = r.body.record;
        if (r.status === 200 && rec) {
          if (rec.state === 'onboarded') { f.done = true; showOnboarded(rec); return; }
          if (rec.state === 'failed') { f.done = true; showFailedRecord(f, rec); return; }
          if (rec.state === 'verified') showPending(rec, Date.now() - since > POLL_SLOW_AFTER_MS);
        }
        poll(f, waba, Math.min(delay * 1.5, POLL_MAX_MS), since);
      }).catch(function () {
        if (f === flow && !f.done) poll(f, waba, Math.min(delay * 2, POLL_MAX_MS), since);
      });
    }, delay);
  }

  el.button.addEventListener('click', function () {
    var f = flow;
    if (f && !f.done && f.retry === 'resend' && f.payload && el.status.getAttribute('data-state') === 'failed') {
      // A transient failure: the same code and IDs may still work, and the
      // backend answers a repeat of a finished signup from its record.
      f.retry = 'restart';
      send(f);
      return;
    }
    launch();
  });

  // ---- loading Meta's SDK --------------------------------------------

  window.fbAsyncInit = function () {
    window.FB.init({
      appId: cfg.appId,
      autoLogAppEvents: true,
      xfbml: false,
      version: cfg.graphVersion
    });
    sdkReady = true;
    showIdle();
  };

  // SDK_TIMEOUT_MS is how long the page waits for Meta's SDK to start.
  var SDK_TIMEOUT_MS = 15000;

  function sdkFailed() {
    if (sdkReady) return;
    render('failed', {
      chip: 'Unavailable', step: 'connect', failed: true, noButton: true,
      title: 'Facebook sign-in could not load',
      text: 'A browser extension or network filter may be blocking connect.facebook.net. Allow it for this page, then reload.'
    });
  }

  function loadSDK() {
    if (!cfg.sdkUrl) return;
    var s = document.createElement('script');
    s.src = cfg.sdkUrl;
    s.async = true;
    s.defer = true;
    if (!cfg.sandbox) s.crossOrigin = 'anonymous';
    s.onerror = sdkFailed;
    document.head.appendChild(s);
    setTimeout(sdkFailed, SDK_TIMEOUT_MS);
  }

  render('loading', {
    chip: 'Loading', step: 'connect',
    title: 'Getting things ready…', text: "Loading Meta's secure sign-in."
  });
  loadSDK();
})();
