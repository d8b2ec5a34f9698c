// onboarding.js drives WhatsApp Embedded Signup on the onboarding page.
//
// Meta delivers two things, in either order: the authorization code (to the
// FB.login callback) and the session info (a WA_EMBEDDED_SIGNUP "message"
// event with the WABA, phone number and business IDs). The page posts them
// to the signup API once both are in, or the code alone after a wait
// (IDS_WAIT_MS): the backend can recover the IDs from Meta.
(function () {
  'use strict';

  var data = document.body.dataset;
  var cfg = {
    appId: data.appId || '',
    configId: data.configId || '',
    graphVersion: data.graphVersion || 'v25.0',
    solutionId: data.solutionId || '',
    // FB.login's extras for the configured Embedded Signup version, built
    // by the server from Meta's version table (shared/esversion).
    extras: parseMessage(data.esExtras || '') || { setup: { solutionID: data.solutionId || '' } },
    signupUrl: data.signupUrl || '/api/whatsapp/embedded-signup',
    sdkUrl: data.sdkUrl || '',
    sandbox: data.sandbox === 'true',
    simUrl: data.simUrl || '',
    // Origins whose messages count: whole origins, or https://*.<domain>
    // for that domain's subdomains (originAllowed).
    origins: (data.origins || '').split(/\s+/).filter(Boolean).map(function (o) {
      return o === 'self' ? window.location.origin : o;
    })
  };

  // How long to wait for the session info once the code is in, before
  // sending the code alone. The code alone cannot say which of a WABA's
  // numbers was picked, that none was (FINISH_ONLY_WABA), or that the
  // number is used with the WhatsApp Business app, whose code must never
  // be sent; and Meta says neither which comes first nor how far apart.
  // So the page waits as long as the code's life allows, and posts the
  // moment the message arrives: the wait costs time only when Meta sends
  // no message at all. Meta's code lives 30 seconds and the backend
  // exchanges it before anything else (its whole answer may take ~25 s,
  // but only the exchange must fall within the code's life). Sent at 8 s,
  // the code reaches Meta by 18 s even when the backend uses all of the
  // 10 s RESEND_WINDOW_MS allows it (a cold start, a slow network): 12 s
  // inside the code's life. A Try again after a quick busy answer still
  // has 12 s before RESEND_WINDOW_MS closes.
  var IDS_WAIT_MS = 8000;
  // How often the wait for the session info checks the time, on Date.now
  // like RESEND_CHECK_MS.
  var IDS_CHECK_MS = 200;
  // How long to wait for a CANCEL message after a callback without code
  // before saying the signup was not finished. One that comes later still
  // fills in the step or Meta's reference (noteCancel).
  var CANCEL_WAIT_MS = 800;
  // How long the page waits for Meta's login callback before it offers
  // Start again: the callback has been reported never to come when Meta's
  // window is closed in some browsers, and without it the page would wait
  // for good. The customer may legitimately spend many minutes in Meta's
  // window (the page says about five; creating a business portfolio and
  // verifying a new number can take longer), so the offer comes at twice
  // that, and it ends nothing: the callback still counts until the
  // customer clicks (showStalled).
  var STALL_MS = 10 * 60 * 1000;
  // How often the page checks that wait, on Date.now like RESEND_CHECK_MS.
  var STALL_CHECK_MS = 1000;
  // How long after FB.login, or after the page is shown again, the page
  // waits for a sign of Meta's window before it offers Start again. Meta's
  // pop-up takes the focus as it opens: a page that never lost it had its
  // pop-up blocked, and a page shown again with no callback may be one
  // whose pop-up was closed without one (showStalled, showBlocked).
  var POPUP_WAIT_MS = 3000;
  var POLL_FIRST_MS = 1500;
  var POLL_MAX_MS = 15000;
  var POLL_SLOW_AFTER_MS = 10 * 60 * 1000;
  // How long after a signup was posted a tab following it (a reload, a
  // second tab) waits before it takes a missing record, or a settled one
  // short of onboarded that was last written before the post, as the
  // signup's outcome: the signup function's 25 s timeout, and the trip to
  // it. The backend writes the WABA's record only once Meta has proven
  // control (docs/sessions.md), so until then the record is absent or
  // still an earlier attempt's.
  var SIGNUP_GRACE_MS = 30000;
  // How far the server's clock (a record's updated_at) may run behind the
  // page's when the page compares it with its post, once the offset the
  // server's Date header shows is taken off (serverAhead): the header's
  // whole seconds and the trip to it.
  var CLOCK_SKEW_MS = 5000;
  // How long after Meta's code arrived Try again may still send that same
  // code. Meta's code lives 30 seconds; the rest is for the backend's own
  // call to Meta. Past it the button starts Meta's flow again.
  var RESEND_WINDOW_MS = 20000;
  // How often a failure offering Try again checks that window. Comparing
  // with Date.now every second, rather than one timer set for the end,
  // keeps the screen and the click on the same clock (the browser tests
  // move it).
  var RESEND_CHECK_MS = 1000;

  var $ = function (id) { return document.getElementById(id); };
  var el = {
    status: $('status'), chip: $('status-chip'), title: $('status-title'), text: $('status-text'),
    details: $('details'), phoneRow: $('detail-phone'), phone: $('phone-display'),
    phoneID: $('phone-number-id'), waba: $('waba-id'), reference: $('reference'),
    steps: $('steps'), button: $('connect'), buttonLabel: $('connect-label'), fineprint: $('fineprint')
  };

  // A session token handed over by the product that sent the customer here
  // binds the signup to that customer. It is read once and removed from the
  // address bar so it is not bookmarked or shared by accident. It is kept
  // in the history entry's state, which a reload (or back and forward to
  // this entry) restores and a new visit to the page does not: whoever
  // opens the page afresh in the same tab gets no earlier customer's link.
  var linkSession = (function () {
    var params = new URLSearchParams(window.location.search);
    var s = params.get('session') || '';
    var h = window.history;
    if (!s && h && h.state && typeof h.state.onboardingSession === 'string') return h.state.onboardingSession;
    if (s && h && h.replaceState) {
      params.delete('session');
      var q = params.toString();
      h.replaceState({ onboardingSession: s }, '', window.location.pathname + (q ? '?' + q : '') + window.location.hash);
    }
    return s;
  })();

  // The WABA this tab's signup named, the session it was sent with and
  // when it was posted (ms since the epoch; 0 when not known), kept in the
  // same history entry: once a signup has spent the link, the link check
  // can only say it was used, so a reload (or a tab the mobile browser
  // discarded, or Back) follows the signup's status instead. The status
  // route shows the record to that session for a day past its expiry
  // (apigw.StatusSessionGrace).
  var followed = (function () {
    var st = window.history && window.history.state;
    var w = st && st.onboardingFollow;
    if (!w || typeof w.waba !== 'string' || !w.waba || typeof w.session !== 'string') return null;
    var at = typeof w.postedAt === 'number' && isFinite(w.postedAt) ? w.postedAt : 0;
    return { waba: w.waba, session: w.session, postedAt: at };
  })();

  // rememberWABA keeps waba, session and postedAt in the history entry
  // (followed).
  function rememberWABA(waba, session, postedAt) {
    var h = window.history;
    if (!waba || !h || !h.replaceState) return;
    var st = {};
    if (h.state && typeof h.state === 'object') {
      for (var k in h.state) if (Object.prototype.hasOwnProperty.call(h.state, k)) st[k] = h.state[k];
    }
    var was = st.onboardingFollow;
    postedAt = postedAt || 0;
    if (was && was.waba === waba && was.session === (session || '') && was.postedAt === postedAt) return;
    st.onboardingFollow = { waba: waba, session: session || '', postedAt: postedAt };
    try { h.replaceState(st, ''); } catch (e) { /* a state the browser will not keep costs only the reload */ }
  }

  // deadLink is the session code of a link found unusable as the page
  // loaded (checkLink): Connect stays disabled, and the page says to ask
  // for a new link before the customer spends minutes in Meta's dialog.
  var deadLink = '';
  // noRecord is a followed WABA found to have no record: the link check
  // does not send the page back to it.
  var noRecord = '';

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

  // setText writes text into node only when it differs: the status panel
  // is a live region, and a screen reader reads out every write, so a
  // poll that finds nothing new must say nothing.
  function setText(node, text) {
    text = text || '';
    if (node.textContent !== text) node.textContent = text;
  }

  function render(state, opts) {
    opts = opts || {};
    var hadFocus = document.activeElement === el.button;
    el.status.setAttribute('data-state', state);
    document.body.setAttribute('data-state', state);
    setText(el.chip, opts.chip);
    setText(el.title, opts.title);
    setText(el.text, opts.text);
    setSteps(opts.step, opts.failed);
    // The tab names the outcome too: it is what a customer who left the
    // page sees of it.
    document.title = opts.title + ' – Connect WhatsApp';

    var rec = opts.record;
    if (rec && (rec.phone_number_id || rec.waba_id)) {
      el.details.hidden = false;
      el.phoneRow.hidden = !rec.display_phone_number;
      setText(el.phone, rec.display_phone_number);
      setText(el.phoneID, rec.phone_number_id || '—');
      setText(el.waba, rec.waba_id || '—');
    } else {
      el.details.hidden = true;
    }
    if (opts.reference) {
      el.reference.hidden = false;
      setText(el.reference, 'Reference: ' + opts.reference);
    } else {
      el.reference.hidden = true;
      setText(el.reference, '');
    }

    var busy = BUSY_LABELS[state];
    el.button.hidden = state === 'onboarded' || !!opts.noButton;
    el.fineprint.hidden = state === 'onboarded';
    setText(el.buttonLabel, busy || opts.button || 'Connect WhatsApp');
    el.button.setAttribute('aria-busy', busy ? 'true' : 'false');
    // While the page waits the button only refuses clicks (aria-disabled):
    // a disabled button drops the keyboard focus to the page's start.
    el.button.setAttribute('aria-disabled', busy ? 'true' : 'false');
    syncButton();
    if (hadFocus && (el.button.hidden || el.button.disabled)) el.title.focus();
  }

  // syncButton disables the button where nothing can start Meta's flow:
  // its SDK is not ready, or the link is dead.
  function syncButton() {
    el.button.disabled = !sdkReady || !!deadLink;
  }

  // Every text the customer reads is here: a title, then one sentence on
  // what happened and one on what to do. The customer knows Meta and
  // Facebook, not our partners or Meta's step names (docs/local.md lists
  // each scenario's text; the browser tests assert them).
  function showIdle() {
    render('idle', {
      chip: 'Not connected', step: 'connect',
      title: 'Ready when you are',
      text: 'Nothing is connected yet. Click Connect WhatsApp and follow the steps in the Facebook window.'
    });
  }

  function showConnecting() {
    render('connecting', {
      chip: 'Connecting', step: 'connect',
      title: 'Finish the steps in the Facebook window',
      text: 'The Facebook window is open in a pop-up. Finish the steps there and keep this page open.'
    });
  }

  // showStalled offers a way out of an attempt whose login callback has
  // not come, while the page goes on listening for it. Start again runs a
  // new attempt (launch); the abandoned one's callback, should it come
  // after all, is then ignored and its code never sent.
  function showStalled() {
    render('stalled', {
      chip: 'Waiting', step: 'connect', button: 'Start again',
      title: 'Still waiting for the Facebook window',
      text: 'We have not heard back from the Facebook window yet. If it is still open, finish the steps there; if you closed it, click Start again.'
    });
  }

  // showBlocked is showStalled for a pop-up that never opened: the page
  // kept the focus after FB.login (POPUP_WAIT_MS). Like showStalled it
  // ends nothing; a callback that comes after all still counts.
  function showBlocked() {
    render('stalled', {
      chip: 'Waiting', step: 'connect', button: 'Start again',
      title: 'The Facebook window did not open',
      text: 'Your browser may have blocked the pop-up. Allow pop-ups for this page, then click Start again.'
    });
  }

  function showVerifying(ids) {
    render('verifying', {
      chip: 'Verifying', step: 'verify',
      title: 'Verifying your account with Meta',
      text: 'Meta is confirming the account you shared. Keep this page open for a few seconds.',
      record: ids
    });
  }

  function showPending(rec, slow) {
    render('pending', {
      chip: 'Pending', step: 'activate', record: rec,
      title: 'Activating your number',
      text: slow
        ? 'Activation is taking longer than usual. You can close this page; your number appears in your dashboard when it is ready.'
        : 'Meta confirmed your account and your number is being activated. You can close this page; activation continues without it.'
    });
  }

  function showOnboarded(rec) {
    var number = rec.display_phone_number || (rec.phone_number_id ? 'with ID ' + rec.phone_number_id : '');
    render('onboarded', {
      chip: 'Onboarded', step: 'all', record: rec,
      title: 'WhatsApp is connected',
      text: 'Your number ' + (number ? number + ' ' : '') + 'is ready to send and receive messages. You can close this page.'
    });
  }

  // showCancelled reports a flow the customer left before the end, or one
  // that ended on an error in Meta's window: an error the customer
  // reported there (CANCEL with error_message) or an ERROR event.
  function showCancelled(f) {
    var c = f.cancel || {};
    if (c.error) {
      render('failed', {
        chip: 'Failed', step: 'connect', failed: true, button: 'Start again',
        title: 'The Facebook window stopped with an error',
        text: 'Meta ended the signup before it finished, so nothing was connected. Click Start again, and if it happens again, contact support with the reference below.',
        reference: metaReference(c)
      });
      return;
    }
    var step = c.step ? humanStep(c.step) : '';
    render('cancelled', {
      chip: 'Cancelled', step: 'connect', button: 'Start again',
      title: 'Signup not finished',
      text: (step ? 'The Facebook window was closed at the ' + step + ' step, so nothing was connected.' :
        'The Facebook window was closed before the signup finished, so nothing was connected.') +
        ' Click Start again when you are ready.'
    });
  }

  // metaReference is what Meta asks for when its support is contacted
  // about an error: the error code, the session ID and the timestamp, as
  // Meta sent them.
  function metaReference(c) {
    var parts = [];
    if (c.errorCode) parts.push('Meta error ' + c.errorCode);
    if (c.sessionId) parts.push('session ' + c.sessionId);
    if (c.timestamp) parts.push('timestamp ' + c.timestamp);
    return parts.join(', ');
  }

  // Meta's current_step values, as the customer saw the screens. The
  // first six are the ones Meta documents (Embedded Signup flow errors,
  // "Abandoned flow screens"); the last three are not documented and
  // cost nothing to keep.
  var STEP_NAMES = {
    BUSINESS_ACCOUNT_SELECTION: 'business portfolio',
    WABA_PHONE_PROFILE_PICKER: 'WhatsApp Business Account',
    WHATSAPP_BUSINESS_PROFILE_SETUP: 'business profile',
    PHONE_NUMBER_SETUP: 'phone number',
    PHONE_NUMBER_VERIFICATION: 'phone number verification',
    PERMISSIONS: 'permissions',
    LOGIN: 'sign-in',
    BUSINESS_PORTFOLIO_SELECTION: 'business portfolio',
    WABA_SELECTION: 'WhatsApp Business Account'
  };

  // humanStep never shows Meta's enum: an unknown step is left out.
  function humanStep(step) {
    return STEP_NAMES[step] || '';
  }

  // Failure copy by API error code: the title, what happened, what to do.
  // retry says what the button does: 'resend' the same code (only where
  // the backend never sent it to Meta, and only while canResend), 'restart'
  // Meta's flow (FB.login again: Meta's code lives 30 seconds and is
  // single-use), or 'none'. A 'resend' failure says in restartNext what to
  // do once the code can no longer be sent.
  var FAILURES = {
    meta_rejected: { step: 'verify', title: 'Meta did not confirm the signup', retry: 'restart',
      what: 'The sign-in expired or was used before we could confirm it.',
      next: 'Click Start again and complete the Facebook window once more.' },
    meta_unavailable: { step: 'verify', title: 'Meta is not answering right now', retry: 'restart',
      what: 'We could not confirm your signup with Meta.',
      next: 'Wait a minute, then click Start again.' },
    provider_config: { step: 'verify', title: 'We cannot finish signups right now', retry: 'restart',
      what: 'A setup problem on our side stopped your signup, and our team is fixing it.',
      next: 'Please try again later.' },
    phone_unverified: { step: 'verify', title: 'Your phone number is not verified yet', retry: 'restart',
      what: 'Meta has not confirmed the code sent to your number, so it cannot be connected.',
      next: 'Click Start again and enter the code Meta sends to the number.' },
    phone_number_missing: { step: 'verify', title: 'Your account has no phone number yet', retry: 'restart',
      what: 'Your WhatsApp Business Account was shared without a phone number.',
      next: 'Click Start again and add the number you want to use.' },
    waba_already_registered: { step: 'activate', title: 'This WhatsApp Business Account is already in use', retry: 'restart',
      what: 'It is connected through another provider, so we cannot add it.',
      next: 'Click Start again and pick another WhatsApp Business Account, or contact support.' },
    phone_number_registered_elsewhere: { step: 'activate', title: 'This phone number is already in use', retry: 'restart',
      what: 'It belongs to another WhatsApp Business Account.',
      next: 'Click Start again and pick or add another number, or contact support to move this one.' },
    second_number_not_supported: { step: 'activate', title: 'This account already has a connected number', retry: 'none',
      what: 'Your WhatsApp Business Account is already connected with another number, and this signup cannot add a second one.',
      next: 'Contact support with the reference below to add the number.' },
    access_removed: { step: 'activate', title: 'Access to your account was removed', retry: 'restart',
      what: 'Access to your WhatsApp Business Account was removed while we were connecting it, so the signup did not finish.',
      next: 'Click Start again and share the account with us once more in the Facebook window.' },
    business_mismatch: { step: 'verify', title: 'Meta did not confirm your business', retry: 'restart',
      what: 'The business you picked does not own the WhatsApp Business Account you shared, so nothing was connected.',
      next: 'Click Start again and pick the business that owns the account.' },
    conflict: { step: 'verify', title: 'This account is already connected', retry: 'none',
      what: 'Your WhatsApp Business Account was connected earlier with a different number or business.',
      next: 'Contact support with the reference below.' },
    // Another request holds the WABA (a second tab, a double click), and
    // the request named no WABA to follow (answer).
    signup_in_progress: { step: 'verify', title: 'Another signup is running', retry: 'restart',
      what: 'Another signup for this account is running.',
      next: 'Wait a minute, then click Start again.' },
    upstream_unavailable: { step: 'verify', title: 'Our service is busy right now', retry: 'resend',
      what: 'Your signup was not processed yet.',
      next: 'Click Try again now.',
      restartNext: 'Wait a minute, then click Start again.' },
    signup_not_recorded: { step: 'verify', title: 'Our service is busy right now', retry: 'restart',
      what: 'Meta confirmed your signup, but we could not save it, so nothing was connected.',
      next: 'Wait a minute, then click Start again.' },
    too_many_requests: { step: 'verify', title: 'Too many attempts', retry: 'resend',
      what: 'Your signup was not processed yet.',
      next: 'Click Try again in a few seconds.',
      restartNext: 'Wait a minute, then click Start again.' },
    upstream_error: { step: 'activate', title: 'We could not activate your number', retry: 'restart',
      what: 'Your account was confirmed but activating the number failed, and our team has been alerted.',
      next: 'Contact support with the reference below if you need it sooner.' },
    invalid_request: { step: 'verify', title: 'The signup details were incomplete', retry: 'restart',
      what: 'Some details of the signup did not reach us.',
      next: 'Click Start again and finish every step in the Facebook window.' },
    internal_error: { step: 'verify', title: 'Something went wrong on our side', retry: 'restart',
      what: 'Your signup could not be processed.',
      next: 'Click Start again in a minute, and contact support with the reference below if it keeps happening.' },
    network: { step: 'verify', title: 'We could not reach our server', retry: 'resend',
      what: 'Your browser lost the connection before our answer arrived.',
      next: 'Check your internet connection, then click Try again.',
      restartNext: 'Check your internet connection, then click Start again.' },
    // The page's own refusal, before anything is sent: a number already
    // used with the WhatsApp Business app (Meta's "coexistence"). Meta
    // says such a number must not be registered, and every number this
    // service onboards is registered through Plivo.
    business_app_number: { step: 'connect', title: 'This number is used with the WhatsApp Business app', retry: 'restart',
      what: 'Numbers already used with the WhatsApp Business app cannot be connected through this signup, so nothing was connected.',
      next: 'Click Start again and pick or add a number that is not used with the WhatsApp Business app, or contact support.' },
    // The onboarding link: only the product that sent the customer here
    // can issue a new one, so there is nothing to retry on this page.
    session_missing: { step: 'connect', title: 'Open this page from your onboarding link', retry: 'none',
      what: 'This page was opened without the link your provider sent you.',
      next: 'Open the link from your provider, or ask them for a new one.' },
    session_invalid: { step: 'connect', title: 'Your onboarding link cannot be used', retry: 'none',
      what: 'The link is not valid.', next: 'Ask your provider for a new link.' },
    session_expired: { step: 'connect', title: 'Your onboarding link cannot be used', retry: 'none',
      what: 'The link has expired.', next: 'Ask your provider for a new link.' },
    session_used: { step: 'connect', title: 'Your onboarding link cannot be used', retry: 'none',
      what: 'The link was already used for a signup.', next: 'Ask your provider for a new link.' },
    client_ref_mismatch: { step: 'connect', title: 'This link belongs to another account', retry: 'none',
      what: 'The link was issued for a different customer account.', next: 'Ask your provider for a new link.' }
  };

  // Record states and failure reasons (the status API), as codes above.
  var REASONS = {
    meta_rejected: 'meta_rejected', meta_unavailable: 'meta_unavailable', meta_config: 'provider_config',
    waba_already_registered: 'waba_already_registered',
    phone_number_registered_elsewhere: 'phone_number_registered_elsewhere',
    business_mismatch: 'business_mismatch'
  };
  // States a followed record stops in short of onboarded, other than
  // failed, by the FAILURES entry that tells the customer what to do: it
  // waits for the customer, or Meta's webhook removed our access
  // (disconnected) during the signup.
  var STOPPED_STATES = { phone_unverified: 'phone_unverified', awaiting_number: 'phone_number_missing',
    disconnected: 'access_removed' };

  // showFailure renders a failure by its code. The server's message is
  // not shown: it is written for the operator and would repeat the page's
  // own instruction.
  function showFailure(f, code, reference) {
    var info = FAILURES[code] || FAILURES.internal_error;
    var retry = info.retry;
    if (retry === 'resend' && !canResend(f, code)) retry = 'restart';
    f.retry = retry;
    f.failure = { code: code, reference: reference };
    clearTimeout(f.resendTimer);
    render('failed', {
      chip: 'Failed', step: info.step, failed: true,
      button: retry === 'resend' ? 'Try again' : 'Start again',
      title: info.title,
      text: info.what + ' ' + (retry === info.retry ? info.next : info.restartNext),
      reference: reference,
      noButton: retry === 'none'
    });
    if (retry === 'resend') watchResend(f);
  }

  // canResend says whether the failure of code may send f's code again:
  // only while the code is fresh (RESEND_WINDOW_MS), and after a lost
  // connection only when the request named the WABA. That request may
  // have reached the backend, which answers a repeat for a WABA from its
  // record; without the WABA it would spend the code a second time.
  function canResend(f, code) {
    if (!f.payload || !f.codeAt || Date.now() - f.codeAt >= RESEND_WINDOW_MS) return false;
    return code !== 'network' || !!f.payload.waba_id;
  }

  // watchResend turns a Try again failure into its Start again form once
  // the code is no longer fresh, so the screen never offers what the
  // button will not do.
  function watchResend(f) {
    f.resendTimer = setTimeout(function () {
      if (f !== flow || f.done || f.retry !== 'resend' || el.status.getAttribute('data-state') !== 'failed') return;
      if (canResend(f, f.failure.code)) watchResend(f);
      else showFailure(f, f.failure.code, f.failure.reference);
    }, RESEND_CHECK_MS);
  }

  function showFailedRecord(f, rec) {
    var code = STOPPED_STATES[rec.state] || REASONS[rec.failure_reason] || 'upstream_error';
    showFailure(f, code, 'WhatsApp Business Account ' + rec.waba_id);
  }

  // ---- the flow ------------------------------------------------------

  function newFlow() {
    seq += 1;
    return { id: seq, code: '', codeAt: 0, ids: null, cancel: null, cancelShown: false, loginDone: false, posted: false, done: false,
      startedAt: 0, idsTimer: 0, cancelTimer: 0, stallTimer: 0, pollTimer: 0, resendTimer: 0, popupTimer: 0, returnTimer: 0,
      left: false, resumed: false, postedAt: 0, pollNow: null, payload: null, retry: 'restart', failure: null };
  }

  function clearTimers(f) {
    clearTimeout(f.idsTimer);
    clearTimeout(f.cancelTimer);
    clearTimeout(f.stallTimer);
    clearTimeout(f.pollTimer);
    clearTimeout(f.resendTimer);
    clearTimeout(f.popupTimer);
    clearTimeout(f.returnTimer);
    f.pollNow = null;
  }

  function extras() {
    return JSON.parse(JSON.stringify(cfg.extras));
  }

  function launch() {
    if (!sdkReady || !window.FB) return;
    if (flow) { flow.done = true; clearTimers(flow); }
    var f = flow = newFlow();
    f.session = sessionFor();
    f.startedAt = Date.now();
    showConnecting();
    watchStall(f);
    watchPopup(f);
    window.FB.login(function (resp) { onLogin(f, resp); }, {
      config_id: cfg.configId,
      response_type: 'code',
      override_default_response_type: true,
      extras: extras()
    });
  }

  // waitingOnMeta says whether f still waits for Meta's window, with
  // nothing from it yet.
  function waitingOnMeta(f) {
    return f === flow && !f.done && !f.loginDone && el.status.getAttribute('data-state') === 'connecting';
  }

  // Meta's pop-up takes the focus, or on a phone the whole screen: either
  // is the sign that it opened (watchPopup).
  window.addEventListener('blur', function () { if (flow) flow.left = true; });
  document.addEventListener('visibilitychange', function () {
    if (flow && document.visibilityState === 'hidden') flow.left = true;
  });

  // watchPopup offers Start again (showBlocked) when the page never lost
  // the focus within POPUP_WAIT_MS of FB.login: a blocked pop-up does not
  // call back, and the page would otherwise wait STALL_MS.
  function watchPopup(f) {
    f.popupTimer = setTimeout(function () {
      if (waitingOnMeta(f) && !f.left) showBlocked();
    }, POPUP_WAIT_MS);
  }

  // watchReturn offers Start again (showStalled) when the page, shown
  // again, has no callback within POPUP_WAIT_MS: the customer came back
  // from a pop-up that may have closed without one. The attempt goes on.
  function watchReturn(f) {
    clearTimeout(f.returnTimer);
    f.returnTimer = setTimeout(function () {
      if (waitingOnMeta(f)) showStalled();
    }, POPUP_WAIT_MS);
  }

  // watchStall offers Start again (showStalled) once f has waited
  // STALL_MS for its login callback.
  function watchStall(f) {
    f.stallTimer = setTimeout(function () {
      if (f !== flow || f.done || f.loginDone) return;
      if (Date.now() - f.startedAt >= STALL_MS) showStalled();
      else watchStall(f);
    }, STALL_CHECK_MS);
  }

  // onLogin takes the callback of f's FB.login. A callback of an attempt
  // the customer abandoned with Start again is not flow's: it is dropped,
  // code and all.
  function onLogin(f, resp) {
    if (f !== flow || f.done || f.loginDone) return;
    f.loginDone = true;
    clearTimeout(f.stallTimer);
    clearTimeout(f.popupTimer);
    clearTimeout(f.returnTimer);
    var code = resp && resp.authResponse && resp.authResponse.code;
    if (typeof code === 'string' && code) {
      f.code = code;
      f.codeAt = Date.now();
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
    f.cancelShown = true;
    clearTimers(f);
    showCancelled(f);
  }

  // noteCancel keeps what a CANCEL or ERROR message says about f. An
  // error's reference, which Meta's support asks for, is not replaced by a
  // plain CANCEL's step. Once the callback came without code, f ends as
  // not finished; if the page already said so, it says it again with the
  // details. Only the screen changes: a cancelled attempt has no code and
  // never posts.
  function noteCancel(f, c) {
    if (!f.cancel || !f.cancel.error || c.error) f.cancel = c;
    if (f.cancelShown) showCancelled(f);
    else if (f.loginDone && !f.code) finishCancel(f);
  }

  // refuse ends f with the page's own failure code, before its code is
  // sent: the code, when it comes, is dropped. Once posted it is too late,
  // and the backend's answer stands.
  function refuse(f, code) {
    if (f.posted || f.done) return;
    f.done = true;
    clearTimers(f);
    showFailure(f, code, '');
  }

  function maybeSubmit(f) {
    if (f.posted || f.done || !f.code) return; // session info alone: wait for the code
    if (f.ids) { submit(f); return; }
    showVerifying(null);
    if (!f.idsTimer) waitIDs(f);
  }

  // waitIDs sends f's code alone once IDS_WAIT_MS has passed without the
  // session info.
  function waitIDs(f) {
    f.idsTimer = setTimeout(function () {
      if (f.posted || f.done) return;
      if (Date.now() - f.codeAt >= IDS_WAIT_MS) submit(f);
      else waitIDs(f);
    }, IDS_CHECK_MS);
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

  // log writes one console line per Meta event, for whoever supports the
  // customer: the event and IDs, never the code.
  function log(event, detail) {
    if (window.console && window.console.info) window.console.info('[embedded-signup] ' + event, detail);
  }

  // metaError reads an error Meta reports: error_code (error_id in older
  // revisions of Meta's docs), session_id and timestamp, which Meta's
  // support asks for. error_message is Meta's text for the customer, who
  // saw it in Meta's window; it is not repeated here.
  function metaError(d) {
    return {
      error: true,
      errorCode: idString(d.error_code) || idString(d.error_id),
      sessionId: idString(d.session_id),
      timestamp: idString(d.timestamp)
    };
  }

  // originAllowed says whether a message from origin may be Meta's. An
  // entry https://*.<domain> admits the https subdomains of domain on the
  // default port, as the policy's frame-src does: the host is compared
  // after parsing, so https://evil<domain> or <domain>.evil.example do
  // not match, where the suffix test of Meta's sample would admit the
  // first. Any other entry is compared whole.
  function originAllowed(origin) {
    return cfg.origins.some(function (o) {
      if (o === origin) return true;
      if (o.indexOf('https://*.') !== 0) return false;
      var domain = o.slice('https://*.'.length);
      var u;
      try { u = new URL(origin); } catch (e) { return false; }
      return u.protocol === 'https:' && u.port === '' && u.origin === origin &&
        u.hostname.length > domain.length + 1 && u.hostname.slice(-(domain.length + 1)) === '.' + domain;
    });
  }

  // Meta's WA_EMBEDDED_SIGNUP message events, from Meta's origins only.
  window.addEventListener('message', function (ev) {
    if (!originAllowed(ev.origin)) return;
    var msg = parseMessage(ev.data);
    if (!msg || msg.type !== 'WA_EMBEDDED_SIGNUP') return;
    var f = flow;
    var d = msg.data || {};
    var event = String(msg.event || '');
    // An attempt that ended as not finished still takes the details of a
    // CANCEL or ERROR message that came after the page stopped waiting.
    if (!f || (f.done && !(f.cancelShown && (event === 'CANCEL' || event === 'ERROR')))) return;
    var ids = {
      waba_id: idString(d.waba_id),
      phone_number_id: idString(d.phone_number_id),
      business_id: idString(d.business_id)
    };
    switch (event) {
      case 'FINISH':
      case 'FINISH_OBO_MIGRATION':
      case 'FINISH_GRANT_ONLY_API_ACCESS':
        // A verified or unverified number, or (v4) none: the backend asks
        // Meta which, before anything goes further. Meta lists the
        // on-behalf-of migration and the grant of API access alone as
        // successful finishes with the same session info: their IDs are
        // the customer's pick too, which the code alone cannot tell.
        log(event === 'FINISH' ? 'finish' : 'finish (' + event + ')', ids);
        f.ids = ids;
        maybeSubmit(f);
        break;
      case 'FINISH_ONLY_WABA':
        // A WABA shared without a number: recorded as waiting for one.
        log('finish with a WhatsApp Business Account only', ids);
        ids.phone_number_id = '';
        f.ids = ids;
        f.wabaOnly = true;
        maybeSubmit(f);
        break;
      case 'FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING':
        // A number in use with the WhatsApp Business app: Meta says not to
        // register it, and the backend cannot tell it from a FINISH (it
        // would hand it to Plivo, which registers every number). So its
        // code is never sent.
        log('finish from the WhatsApp Business app, not supported', ids);
        refuse(f, 'business_app_number');
        break;
      case 'CANCEL':
        if (d.error_message || d.error_code || d.error_id) {
          // An error the customer reported in Meta's window, which then
          // closed: Meta's documented shape for user-reported errors.
          var reported = metaError(d);
          log('cancel with an error', { error_code: reported.errorCode, session_id: reported.sessionId, timestamp: reported.timestamp });
          noteCancel(f, reported);
        } else {
          log('cancel', { current_step: String(d.current_step || '') });
          noteCancel(f, { step: String(d.current_step || '') });
        }
        break;
      case 'ERROR':
        var failure = metaError(d);
        log('error', { error_code: failure.errorCode, session_id: failure.sessionId, timestamp: failure.timestamp });
        noteCancel(f, failure);
        break;
      default:
        log('event not handled: ' + event, {});
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
    if (f.wabaOnly) payload.finish = 'waba_only';
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
    f.postedAt = Date.now();
    rememberWABA(f.payload.waba_id, f.payload.session, f.postedAt);
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
      if (f === flow) showFailure(f, 'network', '');
    });
  }

  function answer(f, status, body) {
    if (f !== flow || f.done) return;
    body = body || {};
    var rec = body.record;
    if ((status === 200 || status === 202) && rec) rememberWABA(rec.waba_id, f.payload && f.payload.session, f.postedAt);
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
    var held = f.payload && f.payload.waba_id;
    if (err.code && err.code !== 'signup_in_progress' && held) {
      // The signup answered its failure, so it is no longer running: a
      // reload takes the record as it stands.
      rememberWABA(held, f.payload.session, 0);
    }
    if (err.code === 'signup_in_progress' && held) {
      // Another request (a double click, a second tab) holds this WABA:
      // follow its outcome instead of failing. An error answer never
      // carries a record, so a request that named no WABA has none to
      // follow.
      rememberWABA(held, f.payload.session, f.postedAt);
      showVerifying(f.ids);
      poll(f, held, POLL_FIRST_MS, Date.now());
      return;
    }
    // An answer without our error code is API Gateway's own: its 429 is
    // the route's throttle, before the function ran, so the code is
    // unspent and may be sent again.
    var fallback = status === 429 ? 'too_many_requests' : status >= 500 ? 'internal_error' : 'invalid_request';
    showFailure(f, err.code || fallback, body.request_id);
  }

  function poll(f, waba, delay, since) {
    clearTimeout(f.pollTimer);
    var run = function () {
      f.pollNow = null;
      // The signup's own session shows the full record; without it the
      // status route answers the state only.
      var headers = { 'Accept': 'application/json' };
      if (f.payload && f.payload.session) headers['X-Onboarding-Session'] = f.payload.session;
      fetch(cfg.signupUrl + '/' + encodeURIComponent(waba), {
        credentials: 'same-origin', cache: 'no-store', headers: headers
      }).then(function (res) {
        var ahead = serverAhead(res);
        return res.json().catch(function () { return null; }).then(function (body) {
          return { status: res.status, body: body || {}, ahead: ahead };
        });
      }).then(function (r) {
        if (f !== flow || f.done) return;
        var rec = r.body.record;
        // A follow shows the signup verifying until there is more to say;
        // a second tab starts from Ready, its link check coming in after
        // Meta's SDK.
        var quiet = f.resumed && ['loading', 'idle'].indexOf(el.status.getAttribute('data-state')) >= 0;
        if (r.status === 200 && rec) {
          // Restricted is onboarded at Plivo, held back by Meta for now.
          if (rec.state === 'onboarded' || rec.state === 'restricted') { f.done = true; showOnboarded(rec); return; }
          if (rec.state === 'failed' || STOPPED_STATES[rec.state]) {
            if (!signupRunning(f) || !predatesPost(f, rec, r.ahead)) { f.done = true; showFailedRecord(f, rec); return; }
            // An earlier attempt's outcome, which the signup has yet to
            // replace: not this signup's details either.
            if (quiet) showVerifying({ waba_id: waba });
          } else if (rec.state === 'verified') showPending(rec, Date.now() - since > POLL_SLOW_AFTER_MS);
          else if (quiet) showVerifying(rec);
        } else if (f.resumed && r.status === 404) {
          if (!signupRunning(f)) {
            // The remembered signup left no record (Meta refused its
            // code): the link decides what the page offers.
            f.done = true;
            flow = null;
            noRecord = waba;
            if (sdkReady) showIdle();
            checkLink();
            return;
          }
          // The signup has not written its record yet.
          if (quiet) showVerifying({ waba_id: waba });
        }
        poll(f, waba, nextDelay(delay, 1.5), since);
      }).catch(function () {
        if (f === flow && !f.done) poll(f, waba, nextDelay(delay, 2), since);
      });
    };
    f.pollNow = run;
    f.pollTimer = setTimeout(run, delay);
  }

  // nextDelay is the wait before the poll after one that waited delay: a
  // follow's first poll runs at once (delay 0), and the next ones must
  // still space out.
  function nextDelay(delay, factor) {
    return Math.min(Math.max(delay * factor, POLL_FIRST_MS), POLL_MAX_MS);
  }

  // signupRunning says whether f follows a signup, posted at f.postedAt,
  // that may still be running (SIGNUP_GRACE_MS). A signup this page
  // answered, or one another request holds, already has its own record. A
  // follow that does not know when its signup was posted (a history entry
  // from before the page kept it) takes what it finds as final.
  function signupRunning(f) {
    return f.resumed && f.postedAt > 0 && Date.now() - f.postedAt < SIGNUP_GRACE_MS;
  }

  // predatesPost says whether rec, read from a response whose server clock
  // ran ahead of the page's by ahead ms (serverAhead), was last written
  // before f's signup was posted, so that it cannot be the signup's
  // outcome. A record without updated_at (the state-only view of a record
  // bound to another customer) is not the signup's either.
  function predatesPost(f, rec, ahead) {
    var at = Date.parse(rec.updated_at || '') - ahead;
    return !(at >= f.postedAt - CLOCK_SKEW_MS);
  }

  // serverAhead is how far the server's clock ran ahead of the page's
  // (negative: behind) when it answered res, from the response's Date
  // header; 0 without one. A record's updated_at and a link's used_at are
  // the server's times, and the customer's computer can be off by
  // minutes, or by hours when it keeps local time as UTC: compared with
  // the page's clock as they are, an earlier attempt's failure reads as
  // the signup's outcome, or a signup made in another tab seems never to
  // end, or to have ended before it started.
  function serverAhead(res) {
    var date = Date.parse((res.headers && res.headers.get('Date')) || '');
    return isFinite(date) ? date - Date.now() : 0;
  }

  // A page shown again runs a pending poll at once: a hidden page's timers
  // are throttled, and the customer came back to see the outcome.
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState !== 'visible') return;
    var f = flow;
    if (!f || f.done) return;
    if (f.pollNow) {
      clearTimeout(f.pollTimer);
      f.pollNow();
    }
    watchReturn(f);
  });
  // On a desktop the page is never hidden: Meta's pop-up takes the focus,
  // and the page has it back when the pop-up closes, with or without a
  // callback (some browsers send none).
  window.addEventListener('focus', function () {
    var f = flow;
    if (f && !f.done && f.left) watchReturn(f);
  });

  // follow shows the outcome of the signup this tab made earlier
  // (followed), instead of checking a link that signup spent.
  function follow(w) {
    var f = flow = newFlow();
    f.resumed = true;
    f.postedAt = w.postedAt || 0;
    f.payload = { session: w.session, waba_id: w.waba };
    poll(f, w.waba, 0, Date.now());
  }

  el.button.addEventListener('click', function () {
    if (el.button.getAttribute('aria-disabled') === 'true') return;
    var f = flow;
    if (f && !f.done && f.retry === 'resend' && el.status.getAttribute('data-state') === 'failed' &&
        canResend(f, f.failure.code)) {
      // A transient failure while Meta's code is fresh: the same code and
      // IDs may still work, and the backend answers a repeat of a finished
      // signup from its record.
      f.retry = 'restart';
      clearTimeout(f.resendTimer);
      send(f);
      return;
    }
    launch();
  });

  // ---- loading Meta's SDK --------------------------------------------

  // FB.init takes the settings of Meta's Embedded Signup implementation
  // as they are: only the app ID and the Graph version are ours. The page
  // has no social plugins, so parsing XFBML finds nothing, but a setting
  // Meta's flow was never described with is one more thing to rule out
  // when the flow misbehaves.
  window.fbAsyncInit = function () {
    window.FB.init({
      appId: cfg.appId,
      autoLogAppEvents: true,
      xfbml: true,
      version: cfg.graphVersion
    });
    sdkReady = true;
    if (deadLink) showDeadLink();
    else if (!flow) showIdle();
    else syncButton();
  };

  // checkLink asks the backend whether the link's session can still start
  // a signup, without spending it (GET /api/onboarding-sessions/check, the
  // token in a header, never in a URL). Only the session codes disable
  // Connect; an outage or a network error leaves the page usable, and the
  // signup itself checks the session again. A page opened without a link
  // asks too: where the stack requires links, the customer learns it now,
  // not after sharing an account through Meta's whole flow that the signup
  // would then refuse. The sandbox mints a session for each attempt.
  function checkLink() {
    if (!linkSession && cfg.sandbox) return;
    var url = cfg.signupUrl.replace(/\/api\/whatsapp\/embedded-signup$/, '/api/onboarding-sessions/check');
    var headers = { 'Accept': 'application/json' };
    if (linkSession) headers['X-Onboarding-Session'] = linkSession;
    fetch(url, {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: headers
    }).then(function (res) {
      if (res.ok) return null;
      var ahead = serverAhead(res);
      return res.json().catch(function () { return null; }).then(function (body) {
        return body && { body: body, ahead: ahead };
      });
    }).then(function (r) {
      var body = r && r.body;
      var code = body && body.error && body.error.code;
      if (!code || code.indexOf('session_') !== 0 || !FAILURES[code]) return;
      var waba = code === 'session_used' && idString(body.waba_id);
      if (waba && waba !== noRecord && !flow) {
        // The link's signup, made in another tab: its outcome is this
        // page's too. It was posted when it spent the link (used_at, on
        // the server's clock, kept on the page's).
        var usedAt = Date.parse(typeof body.used_at === 'string' ? body.used_at : '') - r.ahead || 0;
        rememberWABA(waba, linkSession, usedAt);
        follow({ waba: waba, session: linkSession, postedAt: usedAt });
        return;
      }
      deadLink = code;
      showDeadLink();
    }).catch(function () {});
  }

  function showDeadLink() {
    flow = newFlow();
    showFailure(flow, deadLink, '');
  }

  // SDK_TIMEOUT_MS is how long the page waits for Meta's SDK to start.
  var SDK_TIMEOUT_MS = 15000;

  function sdkFailed() {
    if (sdkReady) return;
    render('failed', {
      chip: 'Unavailable', step: 'connect', failed: true, noButton: true,
      title: 'Facebook sign-in could not load',
      text: 'A browser extension or network filter may be blocking Facebook on this page. Allow Facebook for this page, then reload it.'
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
    title: 'Getting things ready…', text: "Meta's secure sign-in is loading. This takes a moment."
  });
  loadSDK();
  if (followed) follow(followed);
  else checkLink();
})();
