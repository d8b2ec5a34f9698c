// xd.js is the simulated SDK's relay, framed by the sandbox page on the
// SDK's own origin (the local stack's second port). Real Meta posts the
// WA_EMBEDDED_SIGNUP messages from its own origin; this frame does the same
// for the simulated dialog: the SDK hands it a message, it posts the message
// to the page from here, then tells the SDK it did.
//
// Only the page named by ?origin= may use it, and only that origin receives
// what it posts.
(function () {
  'use strict';

  var origin = new URLSearchParams(window.location.search).get('origin') || '';
  if (!/^https?:\/\/[^/?#]+$/.test(origin) || window.parent === window) return;

  window.addEventListener('message', function (ev) {
    if (ev.source !== window.parent || ev.origin !== origin) return;
    var req;
    try { req = JSON.parse(ev.data); } catch (e) { return; }
    if (!req || req.type !== 'SBX_RELAY' || typeof req.message !== 'string') return;
    window.parent.postMessage(req.message, origin);
    window.parent.postMessage(JSON.stringify({ type: 'SBX_RELAYED', id: req.id }), origin);
  });
  window.parent.postMessage(JSON.stringify({ type: 'SBX_RELAY_READY' }), origin);
})();
