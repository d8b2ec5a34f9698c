// lifecycle.js: the console's customer view and lifecycle events. A
// customer's records come from the per-customer route (through
// /console/customers/{client_ref}); the events are what the local
// EventBridge simulator received from the lifecycle publisher. In sandbox
// mode each record has a Disconnect button: Meta's simulator sends the
// signed account_update a customer's removal of the app causes.
"use strict";

(function () {
  const section = document.getElementById("lifecycle");
  if (!section) return;
  const sandbox = section.dataset.sandbox === "true";
  const source = "wa-onboarding.lifecycle";
  const prefix = "whatsapp.onboarding.";
  const $ = (id) => document.getElementById(id);

  const { el } = window.consoleDOM; // console.js runs first: both are deferred

  function statePill(state) {
    const cls = state === "onboarded" ? "pill-pass"
      : ["failed", "disconnected", "restricted"].includes(state) ? "pill-fail" : "pill-pending";
    return el("span", { class: "pill " + cls, text: state || "?" });
  }

  function when(t) {
    if (!t) return "";
    const d = new Date(t);
    return isNaN(d) ? String(t) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  // ---- the customer's records --------------------------------------------

  const status = $("customer-status");
  const table = $("customer-records");

  async function showCustomer(ref) {
    status.textContent = "Reading " + ref + "…";
    let call;
    try {
      const resp = await fetch("/console/customers/" + encodeURIComponent(ref), { headers: { Accept: "application/json" } });
      call = await resp.json();
      if (!resp.ok) throw new Error(call.error || "HTTP " + resp.status);
    } catch (err) {
      status.textContent = "The customer could not be read: " + err.message;
      table.hidden = true;
      return;
    }
    const body = call.response_body || {};
    if (call.status !== 200) {
      status.textContent = `${call.method} ${call.path} answered ${call.status}: ${body.message || JSON.stringify(body)}`;
      table.hidden = true;
      return;
    }
    const recs = body.records || [];
    status.textContent = `${call.method} ${call.path} → ${call.status}: ${recs.length} record${recs.length === 1 ? "" : "s"} for ${ref}.`;
    table.tBodies[0].replaceChildren(...recs.map((r) => {
      const h = r.health || {};
      const health = [h.quality_event, h.messaging_limit, h.name_status && ("name " + h.name_status),
        h.review_decision && ("review " + h.review_decision)].filter(Boolean).join(" · ");
      let control = null;
      if (sandbox && ["onboarded", "restricted", "verified"].includes(r.state)) {
        control = el("button", { class: "btn btn-small", type: "button", "data-disconnect": r.waba_id, text: "Disconnect" });
        control.addEventListener("click", () => disconnect(r.waba_id, ref, control));
      }
      const reason = r.state_reason ? " (" + r.state_reason + ")" : "";
      return el("tr", { "data-waba": r.waba_id },
        el("td", { text: r.waba_id }),
        el("td", { text: r.display_phone_number || "" }),
        el("td", { class: "state" }, statePill(r.state), reason),
        el("td", { class: "health", text: health }),
        el("td", { text: when(r.last_change) }),
        el("td", { text: r.last_error || "" }),
        el("td", {}, control));
    }));
    table.hidden = recs.length === 0;
  }

  async function disconnect(waba, ref, btn) {
    btn.disabled = true;
    status.textContent = "Meta is telling us that " + waba + " removed the app…";
    try {
      const resp = await fetch("/_sim/local/meta/disconnect", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ waba_id: waba }),
      });
      const r = await resp.json();
      if (!resp.ok) throw new Error(r.error || "HTTP " + resp.status);
      if (r.webhook_status !== 200) throw new Error("the webhook was answered " + r.webhook_status);
    } catch (err) {
      status.textContent = "Disconnect failed: " + err.message;
      btn.disabled = false;
      return;
    }
    await showCustomer(ref);
    refreshEvents();
  }

  $("customer-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const ref = $("customer-ref").value.trim();
    if (ref) showCustomer(ref);
  });

  // Offer the customer of the newest onboarded WABA.
  fetch("/console/wabas", { headers: { Accept: "application/json" } })
    .then((r) => r.ok ? r.json() : { wabas: [] })
    .then((r) => {
      const first = (r.wabas || []).find((w) => w.client_ref);
      if (first && !$("customer-ref").value) $("customer-ref").value = first.client_ref;
    })
    .catch(() => {});

  // ---- lifecycle events ----------------------------------------------------

  const list = $("lifecycle-events");
  const empty = $("lifecycle-empty");

  async function refreshEvents() {
    let events;
    try {
      const resp = await fetch("/_sim/eventbridge/events", { headers: { Accept: "application/json" } });
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      events = await resp.json();
    } catch (_) {
      empty.textContent = "The local EventBridge simulator is not running: the buses point at real AWS.";
      return;
    }
    const mine = (events || []).filter((e) => e.source === source).reverse();
    empty.hidden = mine.length > 0;
    $("lifecycle-when").textContent = "updated " + new Date().toLocaleTimeString();
    list.replaceChildren(...mine.map((e) => {
      const d = e.detail || {};
      const name = (e["detail-type"] || "").replace(prefix, "");
      const change = (d.previous_state ? d.previous_state + " → " : "") + (d.state || "");
      const detail = [d.client_ref && "customer " + d.client_ref, "WABA " + d.waba_id, change, d.reason].filter(Boolean).join(" · ");
      return el("li", { "data-waba": d.waba_id || "", "data-event": name },
        el("span", { class: "when", text: when(d.occurred_at || e.time) }),
        el("span", {}, statePill(name)),
        el("span", { class: "detail", text: detail }));
    }));
  }
  refreshEvents();
  setInterval(() => { if (!document.hidden) refreshEvents(); }, 2000);
})();
