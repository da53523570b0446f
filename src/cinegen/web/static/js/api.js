// Every call the studio makes to the API: the same routes as any client, with the browser's
// session cookie in place of a key and the session's CSRF token on every change. A refusal
// comes back as an ApiError carrying the server's message and the field (`param`) it names;
// a session that has ended (key revoked, access suspended, signed out) shows why at once.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const ENDED = new Set(["session_ended", "invalid_api_key", "missing_api_key", "access_suspended"]);

export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = error.code ?? "";
    this.param = error.param ?? null;
  }
}

// A suspension pauses the session (it is kept: a reload after access resumes goes on); any
// other end of it (key revoked, signed out, expired) asks for a key again.
export function sessionEnded(message, code) {
  const banner = document.getElementById("ended");
  if (!banner || !banner.hidden) return;
  const paused = code === "access_suspended";
  banner.replaceChildren(
    el("p", {}, paused ? `Access is suspended: ${message}` : `Your session ended: ${message}`),
    paused
      ? el("a", { href: location.pathname + location.search }, "Try again")
      : el("a", { href: `/sign-in?next=${encodeURIComponent(location.pathname)}` }, "Sign in again"),
  );
  banner.hidden = false;
  document.getElementById("main")?.setAttribute("inert", "");
}

export async function call(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") init.headers["X-CSRF-Token"] = csrf;
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const type = response.headers.get("content-type") ?? "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (ENDED.has(error.code)) sessionEnded(error.message, error.code);
    throw error;
  }
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body ?? {});
export const put = (path, body) => call("PUT", path, body);
export const del = (path) => call("DELETE", path);

// A task's live events (server-sent): onEvent gets each parsed event; an `error` event (the
// session ended mid-stream) shows why. Returns the EventSource so a caller can close it.
export function events(taskId, onEvent) {
  const source = new EventSource(`/v1/tasks/${encodeURIComponent(taskId)}/events`);
  for (const type of ["state", "progress", "preview"]) {
    source.addEventListener(type, (e) => onEvent(JSON.parse(e.data)));
  }
  source.addEventListener("error", (e) => {
    if (e.data) {
      const refusal = JSON.parse(e.data);
      sessionEnded(refusal.message, refusal.code);
      source.close();
    }
  });
  return source;
}

// A small element builder: el("p", {class: "x"}, "text", child…). Text is set as text, never
// parsed as HTML, so prompts and names from the server cannot inject markup.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// Show a refusal next to the field it names (an element with data-field="<param>"), or in
// the form's general message area; returns the element it was shown in.
export function showError(form, error) {
  clearErrors(form);
  const field = error.param ? fieldFor(form, error.param) : null;
  // A policy refusal's message names its category (and score), as the API words it.
  const text = error.message;
  const slot = (field && ownSlot(field)) ?? form.querySelector(".form-error");
  slot.textContent = text;
  slot.hidden = false;
  if (field) {
    // Tie the message to its field, so a screen reader reads it with the field.
    slot.id ||= `${field.id || field.dataset.field.replace(/\W/g, "_")}_error`;
    const described = (field.getAttribute("aria-describedby") ?? "").split(/\s+/).filter(Boolean);
    if (!described.includes(slot.id)) field.setAttribute("aria-describedby", [...described, slot.id].join(" "));
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }
  return slot;
}

// The error slot beside a field (its .field's own), or a group's own (the storyboard's):
// never one of a nested field's, such as a shot's inside the storyboard.
function ownSlot(field) {
  return field.closest(".field")?.querySelector(":scope > .field-error")
    ?? field.querySelector(":scope > .field-error");
}

function fieldFor(form, param) {
  // A param like "storyboard[1].prompt" or "source.strength": the longest named prefix.
  const parts = param.replace(/\[(\d+)\]/g, ".$1").split(".");
  for (let n = parts.length; n > 0; n--) {
    const name = parts.slice(0, n).join(".");
    const field = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (field) return field;
  }
  return null;
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field-error, .form-error")) {
    slot.textContent = "";
    slot.hidden = true;
  }
  for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
}

// A drop zone for a file input: a file dropped on `zone` becomes the input's file;
// `onDrop` (optional) runs after.
export function acceptDrops(zone, input, onDrop) {
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("over"); });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (!e.dataTransfer.files.length) return;
    input.files = e.dataTransfer.files;
    onDrop?.();
  });
}
