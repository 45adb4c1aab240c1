// The operations console: vanilla JS over /ops/api and LangGraph's own API, same token.
// Every value from the server is written with textContent (never innerHTML): run data hold
// users' messages.
"use strict";

const TOKEN_KEY = "agent-patterns-ops-token";
const state = { me: null, view: "runs", thread: null };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "onclick") node.addEventListener("click", value);
    else if (key === "className") node.className = value;
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function $(id) { return document.getElementById(id); }
function token() { return sessionStorage.getItem(TOKEN_KEY); }
function json(value) { return JSON.stringify(value, null, 2); }
function show(text, isError) {
  const box = $("message");
  box.textContent = text || "";
  box.className = isError ? "message error" : "message";
}

async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
  if (response.status === 401) { logout("Your token was refused: log in again."); }
  if (!response.ok) {
    const detail = data && (data.detail || data.message) ? (data.detail || data.message) : text;
    const error = new Error(`${response.status}: ${typeof detail === "string" ? detail : json(detail)}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function rows(tableId, items, render, empty) {
  const body = $(tableId).querySelector("tbody");
  body.replaceChildren();
  if (!items.length) {
    const columns = $(tableId).querySelectorAll("th").length;
    body.append(el("tr", {}, el("td", { colspan: columns, className: "empty" }, empty)));
  }
  for (const item of items) body.append(render(item));
}

function when(value) { return value ? String(value).replace("T", " ").slice(0, 19) : "-"; }
function money(value) { return value === null || value === undefined ? "no cap" : `$${Number(value).toFixed(4)}`; }

// ---------------------------------------------------------------- runs
async function loadRuns() {
  const params = new URLSearchParams();
  if ($("runs-status").value) params.set("status", $("runs-status").value);
  if ($("runs-graph").value.trim()) params.set("graph", $("runs-graph").value.trim());
  const data = await call("GET", `/ops/api/runs?${params}`);
  const counts = data.counts || {};
  $("runs-counts").replaceChildren(...Object.entries(counts).map(
    ([status, n]) => el("span", { className: `badge status-${status}` }, `${status}: ${n}`)));
  rows("runs-table", data.runs, (run) => el("tr", { "data-thread": run.thread_id },
    el("td", {}, el("span", { className: `badge status-${run.status}` }, run.status)),
    el("td", { className: "mono" }, run.thread_id),
    el("td", {}, run.graph_id || "-"),
    el("td", {}, run.owner || "-"),
    el("td", {}, when(run.updated_at)),
    el("td", { className: "note" }, runNote(run)),
    el("td", {},
      el("button", { type: "button", onclick: () => openTimeline(run.thread_id) }, "Timeline"),
      run.status === "failed" ? el("button", { type: "button", className: "act",
        onclick: () => retryRun(run.thread_id) }, "Retry") : null)),
  "No runs match.");
}

function runNote(run) {
  if (run.error) return String(run.error).slice(0, 160);
  const waiting = run.waiting_for || [];
  if (waiting.length) {
    return waiting.map((w) => `waits for ${w.action} (${Math.round(w.age_s || 0)} s)` +
      (w.deadline ? `, deadline ${when(w.deadline)}${w.expired ? " EXPIRED" : ""}` : "")).join("; ");
  }
  if (run.next_nodes && run.next_nodes.length) return `next: ${run.next_nodes.join(", ")}`;
  return "";
}

async function retryRun(threadId) {
  show(`Retrying ${threadId}...`);
  const data = await call("POST", `/ops/api/runs/${encodeURIComponent(threadId)}/retry`, {});
  show(`Retried ${threadId}: ${data.result && data.result.status ? data.result.status : "done"}`);
  await loadRuns();
}

// ---------------------------------------------------------------- timeline
async function openTimeline(threadId) {
  state.thread = threadId;
  await select("timeline");
}

async function loadTimeline() {
  if (!state.thread) { $("timeline-thread").textContent = "(choose a run on the Runs tab)"; return; }
  const id = encodeURIComponent(state.thread);
  const [detail, data] = await Promise.all([
    call("GET", `/ops/api/runs/${id}`), call("GET", `/ops/api/runs/${id}/timeline`)]);
  const timeline = data.timeline;
  $("timeline-thread").textContent = state.thread;
  const facts = { status: detail.status, graph: detail.graph_id, owner: detail.owner,
    created: when(detail.created_at), updated: when(detail.updated_at),
    steps: timeline.steps, retries: timeline.retries, error: detail.error,
    usage: detail.usage ? `${detail.usage.total_tokens ?? "?"} tokens, $${Number(detail.usage.cost_usd || 0).toFixed(4)}` : null };
  $("timeline-detail").replaceChildren(el("dl", {}, ...Object.entries(facts)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]).flat()));
  let index = 0;
  rows("timeline-table", timeline.events, (event) => el("tr", { className: `event-${event.kind}` },
    el("td", {}, ++index),
    el("td", {}, el("span", { className: `badge kind-${event.kind}` }, event.kind)),
    el("td", {}, when(event.at)),
    el("td", {}, event.duration_s === null || event.duration_s === undefined ? "" : `${Number(event.duration_s).toFixed(3)} s`),
    el("td", { className: "note" }, eventText(event))),
  "No events recorded.");
}

function eventText(event) {
  switch (event.kind) {
    case "step": return `step ${event.step ?? "?"}: ${(event.nodes || []).join(", ") || "-"}`;
    case "tool_call": return `${event.tool}(${json(event.args || {})}) ${event.status}${event.retries ? `, ${event.retries} retries` : ""}: ${event.result || ""}`;
    case "approval": return `${event.tool}: ${event.decision} by ${event.reviewer}${event.reason ? ` (${event.reason})` : ""}`;
    case "model_call": return `${event.role || "model"} ${event.model}: ${event.total_tokens ?? "?"} tokens${event.cost_usd ? `, $${Number(event.cost_usd).toFixed(5)}` : ""}${event.retries ? `, ${event.retries} retries` : ""}`;
    case "worker_run": return `worker ${event.worker || "-"}: ${event.status}${event.error ? `: ${event.error}` : ""}`;
    case "error": return event.error;
    case "interrupt": return "waits for a person";
    default: {
      const rest = Object.fromEntries(Object.entries(event).filter(([k]) => !["kind", "at", "end", "duration_s"].includes(k)));
      return json(rest);
    }
  }
}

// ---------------------------------------------------------------- approvals
async function loadApprovals() {
  const data = await call("GET", "/ops/api/runs?status=waiting&limit=200");
  const list = $("approvals-list");
  list.replaceChildren();
  let count = 0;
  for (const run of data.runs) {
    const detail = await call("GET", `/ops/api/runs/${encodeURIComponent(run.thread_id)}`);
    const values = detail.evidence || {};  // hitl's case, facts, recommendation, policy checks
    for (const request of detail.pending || []) {
      if (!request.action) continue;
      list.append(approvalCard(run, values, request));
      count += 1;
    }
  }
  if (!count) list.append(el("p", { className: "empty" }, "Nothing waits for a decision."));
}

function approvalCard(run, values, request) {
  const args = el("textarea", { rows: 4, className: "mono", "aria-label": "arguments" }, json(request.args));
  const reason = el("input", { placeholder: "reason (recorded)", "aria-label": "reason" });
  const reply = el("input", { placeholder: "message to the agent (respond)", "aria-label": "response" });
  const decide = (type) => async () => {
    const decision = { type, reason: reason.value || null };
    if (type === "edit") decision.args = JSON.parse(args.value);
    if (type === "response") decision.args = reply.value;
    show(`Sending ${type} for ${request.action} on ${run.thread_id}...`);
    const result = await call("POST", `/threads/${run.thread_id}/runs/wait`, {
      assistant_id: run.graph_id, command: { resume: { [request.interrupt_id]: decision } } });
    const messages = (result && result.messages) || [];
    const last = messages.length ? messages[messages.length - 1].content : "";
    show(`Decided (${type}) on ${run.thread_id}: ${String(typeof last === "string" ? last : json(last)).slice(0, 240)}`);
    await loadApprovals();
  };
  const evidence = [];
  const titles = { case: "Case", facts: "Facts", recommendation: "Recommendation", policy: "Policy checks", outcome: "Outcome" };
  for (const [key, title] of Object.entries(titles)) {
    if (values[key]) evidence.push(el("h4", {}, title), el("pre", {}, json(values[key])));
  }
  const mayDecide = state.me && state.me.role !== "user";
  const button = (type, label, extra) => el("button", { type: "button", className: `act ${extra || ""}`,
    "data-decision": type, disabled: !mayDecide, onclick: guard(decide(type)) }, label);
  return el("article", { className: "card approval", "data-thread": run.thread_id },
    el("h3", {}, `${request.action} `, el("span", { className: "mono" }, run.thread_id)),
    el("p", { className: "meta" }, `graph ${run.graph_id || "-"} · owner ${run.owner || "-"}`,
      ` · requested ${when(request.requested_at)} (${Math.round(request.age_s || 0)} s ago)`,
      request.deadline ? ` · deadline ${when(request.deadline)}${request.expired ? " (expired)" : ""}` : "",
      request.escalated ? " · ESCALATED" : ""),
    el("pre", { className: "description" }, request.description || ""),
    ...evidence,
    el("label", {}, "Arguments (edit to change them)"), args,
    el("div", { className: "decide" }, reason, reply,
      button("accept", "Accept", "accept"), button("edit", "Edit"),
      button("response", "Respond"), button("ignore", "Reject", "reject")),
    mayDecide ? null : el("p", { className: "hint" }, "Only reviewers and admins decide approvals."));
}

// ---------------------------------------------------------------- dead letters
async function loadDeadLetters() {
  const status = $("dlq-status").value;
  const data = await call("GET", `/ops/api/dead-letters${status ? `?status=${status}` : ""}`);
  rows("dlq-table", data.dead_letters, (letter) => {
    const reason = el("input", { placeholder: "reason", "aria-label": "discard reason", size: 14 });
    const open = letter.status === "open";
    return el("tr", { "data-letter": letter.id },
      el("td", { className: "mono" }, letter.id),
      el("td", { className: "mono" }, letter.thread_id || "-"),
      el("td", {}, letter.graph_id || "-"),
      el("td", {}, letter.owner || "-"),
      el("td", {}, letter.source),
      el("td", { className: "note" }, `${letter.error_class}: ${String(letter.error || "").slice(0, 160)}`),
      el("td", {}, letter.attempts),
      el("td", {}, letter.status, letter.resolved_by ? ` by ${letter.resolved_by}` : "",
        letter.resolved_reason ? ` (${letter.resolved_reason})` : ""),
      el("td", {}, open ? [
        el("button", { type: "button", className: "act", onclick: guard(() => dlqAction(letter.id, "retry", {})) }, "Retry"),
        reason,
        el("button", { type: "button", className: "act reject", onclick: guard(() => {
          if (!reason.value.trim()) { show("Discarding needs a reason.", true); return null; }
          return dlqAction(letter.id, "discard", { reason: reason.value });
        }) }, "Discard")] : ""));
  }, "The queue is empty.");
}

async function dlqAction(letterId, action, body) {
  show(`${action} ${letterId}...`);
  const data = await call("POST", `/ops/api/dead-letters/${encodeURIComponent(letterId)}/${action}`, body);
  const letter = data.dead_letter || {};
  show(`Dead letter ${letterId}: ${letter.status || action} ${letter.run_status ? `(run ${letter.run_status})` : ""}`);
  await loadDeadLetters();
}

// ---------------------------------------------------------------- budgets and breakers
async function loadBudgets() {
  const data = await call("GET", "/ops/api/budgets");
  rows("budgets-table", data.budgets, (row) => {
    const caps = row.caps || {};
    const spend = row.spend || {};
    return el("tr", {},
      el("td", {}, row.scope),
      el("td", {}, money(caps.daily_usd)), el("td", {}, money(spend.daily_usd)),
      el("td", {}, money(caps.monthly_usd)), el("td", {}, money(spend.monthly_usd)),
      el("td", {}, `${spend.daily_tokens ?? 0} / ${spend.monthly_tokens ?? 0}`));
  }, "No budgets.");
  try {
    const breakers = await call("GET", "/ops/api/breakers");
    $("breakers-note").textContent = "";
    const admin = state.me && state.me.role === "admin";
    rows("breakers-table", breakers.breakers, (b) => el("tr", {},
      el("td", { className: "mono" }, b.key),
      el("td", {}, el("span", { className: `badge breaker-${b.state}` }, b.state)),
      el("td", {}, b.failures), el("td", {}, when(b.opened_at)),
      el("td", { className: "note" }, b.last_error || "-"),
      el("td", {}, admin ? el("button", { type: "button", className: "act", onclick: guard(async () => {
        await call("POST", `/ops/api/breakers/${encodeURIComponent(b.key)}/reset`, {});
        show(`Breaker ${b.key} reset.`);
        await loadBudgets();
      }) }, "Reset") : "")),
    "No circuit breakers recorded: every model and tool is closed.");
  } catch (error) {
    if (error.status !== 403) throw error;
    $("breakers-note").textContent = "Circuit breakers: reviewers and admins only.";
    rows("breakers-table", [], () => null, "-");
  }
}

// ---------------------------------------------------------------- navigation
const LOADERS = { runs: loadRuns, timeline: loadTimeline, approvals: loadApprovals,
  "dead-letters": loadDeadLetters, budgets: loadBudgets };

function guard(action) {
  return async (event) => {
    if (event && event.preventDefault) event.preventDefault();
    try { await action(); } catch (error) { show(error.message, true); }
  };
}

async function select(view) {
  state.view = view;
  document.body.dataset.loaded = "";
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  for (const tab of document.querySelectorAll("#tabs button")) tab.classList.toggle("active", tab.dataset.view === view);
  show("");
  try { await LOADERS[view](); } catch (error) { show(error.message, true); }
  if (state.view === view) document.body.dataset.loaded = view;  // a later tab click wins
}

function logout(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.me = null;
  $("login").hidden = false;
  $("tabs").hidden = true;
  $("main").hidden = true;
  $("logout").hidden = true;
  $("who").textContent = "";
  $("login-error").textContent = reason || "";
}

async function start() {
  if (!token()) { logout(""); return; }
  try {
    state.me = await call("GET", "/ops/api/me");
  } catch (error) {
    logout(error.status === 401 ? "That token was refused." : error.message);
    return;
  }
  $("who").textContent = `${state.me.user_id} (${state.me.role})`;
  $("login").hidden = true;
  $("tabs").hidden = false;
  $("main").hidden = false;
  $("logout").hidden = false;
  await select(state.view);
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  start();
});
$("logout").addEventListener("click", () => logout(""));
$("runs-filter").addEventListener("submit", guard(loadRuns));
$("dlq-filter").addEventListener("submit", guard(loadDeadLetters));
for (const tab of document.querySelectorAll("#tabs button")) {
  tab.addEventListener("click", () => select(tab.dataset.view));
}
start();
