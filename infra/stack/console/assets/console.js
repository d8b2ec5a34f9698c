// console.js: the local operator console. No framework, no inline script
// (the page's Content-Security-Policy forbids it).
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // ---- helpers -------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }
  // lifecycle.js, loaded after this file, builds its nodes with the same el.
  window.consoleDOM = { el };

  // highlight renders JSON text as colored, escaped nodes; non-JSON text
  // is shown as is.
  function highlight(text) {
    const pre = el("pre", { class: "code" });
    let pretty = text;
    try {
      pretty = JSON.stringify(typeof text === "string" ? JSON.parse(text) : text, null, 2);
    } catch (_) {
      pre.textContent = text;
      return pre;
    }
    const re = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
    let last = 0;
    let m;
    while ((m = re.exec(pretty)) !== null) {
      if (m.index > last) pre.append(pretty.slice(last, m.index));
      if (m[1]) {
        const redacted = m[1].includes("[REDACTED]");
        pre.append(el("span", { class: m[2] ? "k" : (redacted ? "r" : "s"), text: m[1] }));
        if (m[2]) pre.append(m[2]);
      } else if (m[3]) {
        pre.append(el("span", { class: "b", text: m[3] }));
      } else {
        pre.append(el("span", { class: "n", text: m[4] }));
      }
      last = re.lastIndex;
    }
    pre.append(pretty.slice(last));
    return pre;
  }

  function headersBlock(headers) {
    const pre = el("pre", { class: "code" });
    for (const [k, v] of Object.entries(headers || {})) {
      pre.append(el("span", { class: "h", text: k + ": " }));
      pre.append(el("span", { class: v.includes("[REDACTED]") ? "r" : "s", text: v }));
      pre.append("\n");
    }
    return pre;
  }

  function statusPill(status) {
    const cls = status >= 500 || !status ? "pill-5xx" : status >= 400 ? "pill-4xx" : "pill-2xx";
    return el("span", { class: "pill " + cls, text: status ? "HTTP " + status : "no answer" });
  }

  function splitList(s) {
    return (s || "").split(",").map((x) => x.trim()).filter(Boolean);
  }

  function setBusy(button, busy) {
    if (!button) return;
    button.setAttribute("aria-busy", busy ? "true" : "false");
    button.disabled = busy;
  }

  // ---- WABA ------------------------------------------------------------

  const waba = $("#waba");
  try {
    waba.value = localStorage.getItem("console.waba") || "";
  } catch (_) { /* storage may be off */ }
  waba.addEventListener("input", () => {
    try { localStorage.setItem("console.waba", waba.value.trim()); } catch (_) { /* ignore */ }
  });

  // ---- onboarded WABAs --------------------------------------------------

  // The select offers the table's onboarded WABAs; picking one fills the
  // WABA ID field, which the demos read. With nothing typed or remembered,
  // the newest is picked.
  const pick = $("#waba-pick");
  const pickHint = $("#waba-pick-hint");
  function rememberWABA() {
    try { localStorage.setItem("console.waba", waba.value.trim()); } catch (_) { /* ignore */ }
  }
  async function loadWABAs() {
    let list = [];
    try {
      const resp = await fetch("/console/wabas", { headers: { Accept: "application/json" } });
      const r = await resp.json();
      if (!resp.ok) throw new Error(r.error || "HTTP " + resp.status);
      list = r.wabas || [];
    } catch (err) {
      pick.replaceChildren(el("option", { value: "", text: "Could not read the signup table" }));
      pickHint.textContent = err.message + ". Type the WABA ID below.";
      return;
    }
    if (!list.length) {
      pick.replaceChildren(el("option", { value: "", text: "No onboarded WABA yet" }));
      pick.disabled = true;
      pickHint.textContent = "Run Connect WhatsApp on the onboarding page first; the WABA appears here once onboarded.";
      return;
    }
    pick.disabled = false;
    pick.replaceChildren(el("option", { value: "", text: `Choose one of ${list.length} onboarded WABA${list.length === 1 ? "" : "s"}` }),
      ...list.map((w) => el("option", { value: w.waba_id,
        text: [w.waba_id, w.display_phone_number, w.client_ref].filter(Boolean).join(" · ") })));
    const current = waba.value.trim();
    if (list.some((w) => w.waba_id === current)) {
      pick.value = current;
    } else if (!current) {
      pick.value = list[0].waba_id;
      waba.value = list[0].waba_id;
      rememberWABA();
    }
  }
  pick.addEventListener("change", () => {
    if (!pick.value) return;
    waba.value = pick.value;
    rememberWABA();
  });
  waba.addEventListener("input", () => {
    pick.value = Array.from(pick.options).some((o) => o.value === waba.value.trim()) ? waba.value.trim() : "";
  });
  loadWABAs();

  // ---- tabs ------------------------------------------------------------

  const tabs = $$(".tab");
  function select(tab) {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    }
  }
  tabs.forEach((t, i) => {
    t.addEventListener("click", () => select(t));
    t.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
      const next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      select(next);
      next.focus();
    });
  });

  // ---- message form ------------------------------------------------------

  // Fields are read through elements: form.name and form.method are the
  // form's own properties, not its inputs.
  const fm = $("#form-message");
  const mf = (name) => fm.elements.namedItem(name);
  const kindInputs = $$('input[name="kind"]', fm);
  function kind() { return kindInputs.find((i) => i.checked).value; }
  kindInputs.forEach((i) => i.addEventListener("change", () => {
    for (const box of $$("[data-kind]", fm)) box.hidden = box.dataset.kind !== kind();
  }));
  mf("text").addEventListener("input", () => {
    $("#text-count").textContent = [...mf("text").value].length + " / 4096";
  });

  function messageBody() {
    const body = { waba_id: waba.value.trim(), dst: mf("dst").value.trim() };
    if (kind() === "text") {
      body.text = mf("text").value;
    } else {
      const params = splitList(mf("tparams").value);
      body.template = { name: mf("tname").value.trim(), language: mf("tlang").value.trim() };
      if (params.length) {
        body.template.components = [{ type: "body", parameters: params.map((p) => ({ type: "text", text: p })) }];
      }
    }
    if (mf("url").value.trim()) body.url = mf("url").value.trim();
    if (mf("method").value) body.method = mf("method").value;
    return body;
  }

  fm.addEventListener("submit", (e) => {
    e.preventDefault();
    run("message", "POST", "/console/run/message", messageBody(), e.submitter);
  });

  // ---- template form -----------------------------------------------------

  const ft = $("#form-template");
  const tf = (name) => ft.elements.namedItem(name);
  function components() {
    const out = [];
    if (tf("header").value.trim()) out.push({ type: "HEADER", format: "TEXT", text: tf("header").value.trim() });
    const body = { type: "BODY", text: tf("body").value };
    const examples = splitList(tf("examples").value);
    if (examples.length) body.example = { body_text: [examples] };
    out.push(body);
    if (tf("footer").value.trim()) out.push({ type: "FOOTER", text: tf("footer").value.trim() });
    return out;
  }
  function templateBody() {
    return {
      waba_id: waba.value.trim(),
      name: tf("name").value.trim(),
      language: tf("language").value.trim(),
      category: tf("category").value,
      components: components(),
    };
  }
  function preview() {
    const p = $("#components-preview");
    p.replaceWith(Object.assign(highlight(JSON.stringify(components())), { id: "components-preview" }));
  }
  ft.addEventListener("input", preview);
  preview();

  ft.addEventListener("submit", (e) => {
    e.preventDefault();
    run("template", "POST", "/console/run/template", templateBody(), e.submitter);
  });
  $("#list-templates").addEventListener("click", (e) => {
    const id = waba.value.trim();
    run("templates", "GET", "/console/run/templates/" + encodeURIComponent(id || "-"), null, e.currentTarget);
  });

  // ---- running a demo ------------------------------------------------------

  const fieldInputs = {
    waba_id: () => waba,
    dst: () => mf("dst"), text: () => mf("text"), "template.name": () => mf("tname"), "template.language": () => mf("tlang"),
    url: () => mf("url"), method: () => mf("method"),
    name: () => tf("name"), language: () => tf("language"), category: () => tf("category"),
    components: () => tf("body"), "components[0].text": () => tf("body"), "components[1].text": () => tf("body"),
  };

  function clearErrors() {
    for (const e of $$(".field-error")) e.remove();
    for (const i of $$('[aria-invalid="true"]')) i.removeAttribute("aria-invalid");
  }

  function showFieldErrors(fields) {
    for (const f of fields || []) {
      const get = fieldInputs[f.field];
      const input = get && get();
      if (!input) continue;
      input.setAttribute("aria-invalid", "true");
      input.closest(".field").append(el("span", { class: "field-error", text: f.message }));
    }
  }

  async function run(what, method, url, body, button) {
    clearErrors();
    const verdict = $("#verdict");
    verdict.dataset.state = "busy";
    verdict.textContent = "Calling the demo API…";
    $("#hops").replaceChildren();
    setBusy(button, true);
    try {
      const init = { method, headers: { Accept: "application/json" } };
      if (body) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      const resp = await fetch(url, init);
      const data = await resp.json();
      if (!resp.ok) throw new Error(data.error || "HTTP " + resp.status);
      render(what, data);
    } catch (err) {
      verdict.dataset.state = "bad";
      verdict.textContent = "The console could not run the demo: " + err.message;
    } finally {
      setBusy(button, false);
      $("#trace-when").textContent = new Date().toLocaleTimeString();
    }
  }

  function render(what, data) {
    const api = data.api;
    const answer = api.response_body || {};
    const verdict = $("#verdict");
    const ok = api.status >= 200 && api.status < 300;
    verdict.dataset.state = ok ? "ok" : "bad";
    verdict.replaceChildren();
    if (ok && what === "message") {
      const uuid = (answer.plivo && answer.plivo.message_uuid || [])[0] || "";
      verdict.append("Message queued at Plivo", el("small", { text: `from ${answer.src} to ${answer.dst} · message_uuid ${uuid}` }));
    } else if (ok && what === "template") {
      verdict.append(`Template ${answer.template.name} submitted: ${answer.status}`,
        el("small", { text: `template_id ${answer.template.id || "(not returned)"} · Meta reviews it next` }));
    } else if (ok) {
      const names = (answer.templates || []).map((t) => `${t.name} (${t.status || "?"})`).join(", ");
      verdict.append(`${answer.count} template${answer.count === 1 ? "" : "s"} on WABA ${answer.waba_id}`,
        el("small", { text: names || "none yet" }));
    } else {
      const e = answer.error || {};
      verdict.append(`HTTP ${api.status} · ${e.code || "error"}`, el("small", { text: e.message || "" }));
      if (api.retry_after) verdict.append(el("small", { text: "Retry-After: " + api.retry_after + " s" }));
      showFieldErrors(e.fields);
    }

    const hops = $("#hops");
    hops.append(hop(
      "Your backend → demo API (IAM-signed in AWS)",
      el("span", {}, el("span", { class: "pill pill-method", text: api.method }), " ", el("span", { class: "hop-line", text: api.path })),
      api.status, api.duration_ms,
      api.request_body ? ["Request body", highlight(JSON.stringify(api.request_body))] : null,
      ["Answer" + (api.retry_after ? " (Retry-After " + api.retry_after + ")" : ""), highlight(JSON.stringify(api.response_body))],
    ));
    if (!data.plivo.length) {
      hops.append(el("li", { class: "hop" },
        el("div", { class: "hop-head" }, el("span", { class: "hop-title", text: "Plivo was not called" })),
        el("p", { class: "muted", text: "The API answered on its own: the input was invalid, or the WABA is unknown or not onboarded." })));
    }
    data.plivo.forEach((x, i) => {
      const title = data.plivo.length > 1 ? `Demo API → Plivo (call ${i + 1})` : "Demo API → Plivo";
      hops.append(hop(
        title,
        el("span", {}, el("span", { class: "pill pill-method", text: x.method }), " ", el("span", { class: "hop-line", text: x.url })),
        x.status, x.duration_ms,
        ["Request headers", headersBlock(x.headers)],
        x.request_body ? ["Request body", highlight(x.request_body)] : null,
        x.error ? ["Transport error", el("pre", { class: "code", text: x.error })] : ["Plivo's answer", highlight(x.response_body || "")],
      ));
    });
  }

  function hop(title, line, status, ms, ...panes) {
    const li = el("li", { class: "hop" },
      el("div", { class: "hop-head" },
        el("span", { class: "hop-title", text: title }),
        statusPill(status),
        el("span", { class: "hop-meta", text: ms != null ? (ms < 10 ? ms.toFixed(1) : Math.round(ms)) + " ms" : "" })),
      el("div", {}, line));
    for (const p of panes) {
      if (!p) continue;
      li.append(el("div", { class: "pane-label", text: p[0] }), p[1]);
    }
    return li;
  }

  // ---- readiness (the doctor) ----------------------------------------------

  async function doctor() {
    const btn = $("#doctor-run");
    const summary = $("#doctor-summary");
    const list = $("#doctor-checks");
    setBusy(btn, true);
    summary.textContent = "Running the doctor…";
    try {
      const resp = await fetch("/console/doctor", { headers: { Accept: "application/json" } });
      const r = await resp.json();
      if (!resp.ok) throw new Error(r.error || "HTTP " + resp.status);
      summary.textContent = r.ok
        ? `All ${r.passed} checks pass${r.warnings ? `, ${r.warnings} with a warning` : ""}.`
        : `${r.failed} check${r.failed === 1 ? "" : "s"} failed: fix them before recording.`;
      // A passing checklist stays folded; a failing one opens on its failures.
      $("#doctor-details").open = !r.ok;
      list.replaceChildren(...r.checks.map((c) => el("li", {},
        el("span", { class: "pill pill-" + c.status, text: c.status === "manual" ? "todo" : c.status }),
        el("span", { class: "title", text: c.title }),
        el("span", { class: "detail", text: c.detail }),
        c.next && c.status !== "pass" ? el("span", { class: "next", text: c.next }) : null)));
    } catch (err) {
      summary.textContent = "The doctor did not run: " + err.message;
    } finally {
      setBusy(btn, false);
    }
  }
  $("#doctor-run").addEventListener("click", doctor);
  doctor();
})();
