// The opening hall: live status by server-sent events, polling when the stream is unavailable.
// Every action is a call to the bidding API (docs/opening.md); the page reloads when the stage
// changes so that the buttons of the new stage appear.
(function () {
  "use strict";
  const root = document.getElementById("hall");
  if (!root) { return; }
  const api = root.dataset.api;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const text = JSON.parse(document.getElementById("hall-text").textContent);
  const live = document.getElementById("live");
  const message = document.getElementById("message");
  let stage = root.dataset.stage;
  let pollTimer = null;

  function t(key) { return text[key] || key; }
  function cell(value) { const td = document.createElement("td"); td.textContent = value; return td; }

  function render(state) {
    if (state.stage !== stage) { window.location.reload(); return; }
    document.getElementById("stage").textContent = t(state.stage);
    document.getElementById("server-time").textContent = state.server_time || "";
    const rows = document.getElementById("rows");
    rows.replaceChildren();
    for (const b of state.bidders) {
      const tr = document.createElement("tr");
      tr.dataset.org = b.organisation_id;
      tr.dataset.status = b.status;
      if (b.own) { tr.className = "own"; }
      tr.append(cell(b.organisation), cell(b.signed_in ? t("yes") : t("no")), cell(b.bond || "—"),
        cell(t(b.status) + (b.cause ? " (" + b.cause + ")" : "")), cell(b.price || "—"), cell(b.detail || ""));
      rows.append(tr);
    }
    const list = document.getElementById("responses");
    list.replaceChildren();
    for (const r of state.responses) {
      const li = document.createElement("li");
      li.textContent = r.organisation + " · " + t(r.kind) + (r.text ? ": " + r.text : "") +
        (r.answer ? " — " + t("host_answer") + ": " + r.answer : "");
      if (root.dataset.host === "1" && r.kind === "objection" && !r.answer) { li.append(answerForm(r.id)); }
      list.append(li);
    }
  }

  function answerForm(id) {
    const form = document.createElement("form");
    const input = document.createElement("input");
    input.name = "answer"; input.size = 40;
    const button = document.createElement("button");
    button.type = "submit"; button.textContent = t("answer");
    form.append(input, button);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      call("/api/bidding/opening-responses/" + id + "/answer", {answer: input.value});
    });
    return form;
  }

  async function call(url, body) {
    const resp = await fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"X-CSRFToken": csrf, "Accept": "application/json", "Content-Type": "application/json"},
      body: JSON.stringify(body || {})});
    const data = await resp.json().catch(() => ({}));
    message.hidden = resp.ok && !data.detail;
    if (!resp.ok) { message.textContent = (data.error || resp.status) + ": " + (data.detail || "") + (data.rule ? " (" + data.rule + ")" : ""); }
    else if (data.status === "failed") { message.hidden = false; message.textContent = data.detail; }
    refresh();
    return data;
  }

  async function refresh() {
    const resp = await fetch(api + "/opening", {credentials: "same-origin", headers: {"Accept": "application/json"}});
    if (resp.ok) { render(await resp.json()); }
  }

  function poll() {
    if (pollTimer) { return; }
    live.textContent = t("polling");
    pollTimer = setInterval(refresh, 3000);
  }

  function stream() {
    if (!window.EventSource) { poll(); return; }
    const source = new EventSource(api + "/opening/events");
    source.addEventListener("hall", (ev) => {
      live.textContent = t("live");
      if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
      render(JSON.parse(ev.data));
    });
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) { poll(); } };
  }

  for (const el of root.querySelectorAll("[data-stage-only]")) {
    el.hidden = !el.dataset.stageOnly.split(" ").includes(stage);
  }
  for (const button of root.querySelectorAll("button[data-url]")) {
    button.addEventListener("click", () => call(api + button.dataset.url, {}));
  }
  const unseal = document.getElementById("unseal-form");
  if (unseal) {
    unseal.addEventListener("submit", (ev) => {
      ev.preventDefault();
      call(api + "/opening/unseal", {data_key: unseal.elements.data_key.value.trim()});
    });
  }
  const remedy = document.getElementById("remedy-form");
  if (remedy) {
    remedy.addEventListener("submit", (ev) => {
      ev.preventDefault();
      call(api + "/opening/remedy", {share: remedy.elements.share.value.trim()});
    });
  }
  const objection = document.getElementById("objection-form");
  if (objection) {
    objection.addEventListener("submit", (ev) => {
      ev.preventDefault();
      call(api + "/opening-record/objections", {text: objection.elements.text.value});
    });
  }
  render(JSON.parse(document.getElementById("hall-state").textContent));
  stream();
}());
