// The Admin page: the all-access switch, API keys (create: the secret shown once; revoke,
// after a confirmation), each key's quota over its role's, and the audit log, newest first
// with older pages on request. Every change goes through the same /v1/admin routes as any
// client's, and shows its refusal next to the field the server names.
import { ApiError, clearErrors, el, get, post, put, showError } from "./api.js";

const $ = (id) => document.getElementById(id);

// Datetimes the server stores without a zone are UTC.
const when = (text) => new Date(/[zZ]|[+-]\d\d:\d\d$/.test(text) ? text : `${text}Z`);
const shown = (text) => (text ? when(text).toLocaleString() : "—");
const time = (text) => (text ? el("time", { datetime: text }, shown(text)) : "—");

// A refusal from the server, or a failure to reach it, shown in `form`.
function refuse(form, error) {
  showError(form, error instanceof ApiError ? error : { message: `${error.message}: try again`, param: null });
}

// Run `work` for `form`'s submit with its buttons disabled and its errors cleared first.
function onSubmit(form, work) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await work();
    } catch (error) {
      refuse(form, error);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
}

// --- the all-access switch ------------------------------------------------------------------
function showAccess(access) {
  const state = $("access_state");
  if (access.suspended) {
    state.replaceChildren(el("strong", { class: "suspended" }, "Suspended"),
      ` since ${shown(access.since)} by ${actorName(access.actor)}: ${access.reason}. `,
      "Non-admin keys are refused; queued tasks wait.");
  } else {
    state.replaceChildren(el("strong", { class: "open" }, "Open"), ": every live key may use the server.");
  }
  $("suspend").hidden = access.suspended;
  $("resume").hidden = !access.suspended;
}

onSubmit($("suspend"), async () => {
  const reason = $("suspend_reason");
  showAccess(await post("/v1/admin/access/suspend", { reason: reason.value.trim() }));
  reason.value = "";
  $("resume").querySelector("button").focus();
  await auditNewer();
});

onSubmit($("resume"), async () => {
  showAccess(await post("/v1/admin/access/resume"));
  $("suspend_reason").focus();
  await auditNewer();
});

// --- keys -----------------------------------------------------------------------------------
let keys = [];
const ownKey = $("keys").dataset.ownKey;
const accounts = new Map(); // account id -> name, for the log's actors

function actorName(actor) {
  return accounts.has(actor) ? `${accounts.get(actor)} (${actor})` : actor ?? "—";
}

function quotaText(quota) {
  const own = Object.entries(quota ?? {}).filter(([, value]) => value !== null);
  return own.length ? own.map(([name, value]) => `${name.replaceAll("_", " ")}: ${value}`).join(", ") : "the role's";
}

function keyRow(key) {
  const ids = `key_${key.id}_name key_${key.id}_account`;
  const mine = key.id === ownKey;
  return el("tr", { id: `key_${key.id}`, class: key.revoked_at ? "revoked" : null },
    el("td", { id: `key_${key.id}_name` }, key.name, mine ? el("small", {}, " (this session)") : null),
    el("td", { id: `key_${key.id}_account` }, key.account),
    el("td", {}, key.role),
    el("td", {}, el("code", {}, `${key.prefix}…`)),
    el("td", {}, time(key.created_at)),
    el("td", {}, time(key.revoked_at)),
    el("td", {}, quotaText(key.quota)),
    el("td", {}, key.revoked_at ? null : el("div", { class: "row-actions" },
      el("button", { type: "button", class: "quiet", "aria-describedby": ids, onclick: () => pickQuota(key.id) }, "Set quota"),
      el("button", { type: "button", class: "danger", "aria-describedby": ids, onclick: () => askRevoke(key) }, "Revoke"),
    )),
  );
}

async function loadKeys() {
  try {
    keys = (await get("/v1/admin/keys")).data;
    $("keys_error").hidden = true;
  } catch (error) {
    $("keys_error").textContent = `The keys could not be read: ${error.message}`;
    $("keys_error").hidden = false;
    return;
  }
  for (const key of keys) accounts.set(key.account_id, key.account);
  $("keys_body").replaceChildren(...keys.map(keyRow));
  fillQuotaKeys();
}

const createForm = $("create_key");
onSubmit(createForm, async () => {
  const body = { name: $("key_name").value.trim(), role: $("key_role").value };
  if ($("key_account").value.trim()) body.account = $("key_account").value.trim();
  const made = await post("/v1/admin/keys", body);
  createForm.reset();
  $("new_key_title").textContent = `New key “${made.name}” for ${made.account} (${made.role})`;
  $("new_key_secret").value = made.secret;
  $("copy_status").textContent = "";
  $("new_key").hidden = false;
  $("new_key_secret").focus();
  $("new_key_secret").select();
  await loadKeys();
  await auditNewer();
});

$("copy_key").addEventListener("click", async () => {
  const secret = $("new_key_secret");
  try {
    await navigator.clipboard.writeText(secret.value);
  } catch {
    // No clipboard API (a page served over plain http to another machine), or no permission.
    secret.focus();
    secret.select();
    if (!document.execCommand("copy")) {
      $("copy_status").textContent = "Could not copy: the key is selected, press Ctrl+C (⌘C).";
      return;
    }
  }
  $("copy_status").textContent = "Copied.";
});

$("new_key_done").addEventListener("click", () => {
  $("new_key_secret").value = "";
  $("new_key").hidden = true;
  $("key_name").focus();
});

// --- revoking, after a confirmation -----------------------------------------------------------
const dialog = $("revoke_dialog");
const revokeForm = $("revoke_form");
let revoking = null;

function askRevoke(key) {
  revoking = key;
  clearErrors(revokeForm);
  const own = key.id === ownKey ? " It is the key this session signed in with: you will be signed out." : "";
  $("revoke_text").textContent = `The key “${key.name}” (${key.prefix}…) of ${key.account} (${key.role}) `
    + `is refused from its next request on. This cannot be undone.${own}`;
  dialog.showModal();
  $("revoke_cancel").focus();
}

$("revoke_cancel").addEventListener("click", () => dialog.close());
dialog.addEventListener("close", () => {
  if (revoking) document.querySelector(`#key_${CSS.escape(revoking.id)} button.danger`)?.focus();
  revoking = null;
});

revokeForm.addEventListener("submit", async (e) => {
  e.preventDefault(); // the dialog closes once the key is revoked, not before
  clearErrors(revokeForm);
  const key = revoking;
  if (!key) return;
  $("revoke_confirm").disabled = true;
  try {
    await post(`/v1/admin/keys/${encodeURIComponent(key.id)}/revoke`);
    revoking = null;
    dialog.close();
    $("keys_status").textContent = `Revoked the key “${key.name}” of ${key.account}.`;
    await loadKeys();
    await auditNewer();
    $("keys_table").focus();
  } catch (error) {
    refuse(revokeForm, error);
  } finally {
    $("revoke_confirm").disabled = false;
  }
});

// --- quotas ---------------------------------------------------------------------------------
const quotaForm = $("quota");
const quotaKey = $("quota_key");
const quotaInputs = [...quotaForm.querySelectorAll("[data-quota]")];

function fillQuotaKeys() {
  const chosen = quotaKey.value;
  const live = keys.filter((key) => !key.revoked_at);
  quotaKey.replaceChildren(...live.map((key) =>
    el("option", { value: key.id }, `${key.name} — ${key.account} (${key.role}), ${key.prefix}…`)));
  if (live.some((key) => key.id === chosen)) quotaKey.value = chosen;
  showQuota();
}

function showQuota() {
  const key = keys.find((k) => k.id === quotaKey.value);
  for (const input of quotaInputs) {
    const name = input.dataset.quota;
    const own = key?.quota?.[name];
    const role = key?.role_quota?.[name];
    input.value = own ?? "";
    input.placeholder = role ?? "no limit";
    const slot = input.closest(".field").querySelector(".role-limit");
    slot.textContent = key ? `the ${key.role} role's: ${role ?? "no limit"}` : "";
  }
  quotaForm.querySelector('button[type="submit"]').disabled = !key;
}

function pickQuota(keyId) {
  quotaKey.value = keyId;
  clearErrors(quotaForm);
  showQuota();
  quotaKey.focus();
  quotaKey.scrollIntoView({ block: "center" });
}

quotaKey.addEventListener("change", () => { clearErrors(quotaForm); showQuota(); });

onSubmit(quotaForm, async () => {
  $("quota_status").textContent = "";
  const limits = {};
  for (const input of quotaInputs) {
    if (input.validity.badInput) {
      throw new ApiError(400, { error: { message: "a number, or empty for the role's limit", param: input.dataset.quota } });
    }
    if (input.value !== "") limits[input.dataset.quota] = Number(input.value);
  }
  const keyId = quotaKey.value;
  const saved = await put(`/v1/admin/keys/${encodeURIComponent(keyId)}/quota`,
    Object.keys(limits).length ? limits : null);
  await loadKeys();
  await auditNewer();
  quotaForm.querySelector(".form-error").hidden = true;
  $("quota_status").textContent = `Saved the quota of “${saved.name}”: ${quotaText(saved.quota)}`;
});

// --- the audit log, newest first, "Load more" pages back; our own changes come in on top -------
const PAGE = 50;
let newestId = 0;
let oldestId = null;
let hasMore = false;

function auditRow(line) {
  return el("tr", {},
    el("td", {}, String(line.id)),
    el("td", {}, time(line.at)),
    el("td", {}, actorName(line.actor)),
    el("td", {}, line.action),
    el("td", {}, line.target ? el("code", {}, line.target) : "—"),
    el("td", {}, line.detail ? el("code", { class: "detail" }, JSON.stringify(line.detail)) : "—"),
  );
}

async function readAudit(query, place) {
  try {
    const page = await get(`/v1/admin/audit?${query}`);
    place(page);
    $("audit_error").hidden = true;
  } catch (error) {
    $("audit_error").textContent = `The audit log could not be read: ${error.message}`;
    $("audit_error").hidden = false;
  }
  $("audit_more").hidden = !hasMore;
  $("audit_empty").hidden = newestId > 0;
}

// An older page, below what is shown.
const auditPage = () => readAudit(
  `order=newest&limit=${PAGE}${oldestId ? `&before=${oldestId}` : ""}`,
  (page) => {
    $("audit_body").append(...page.data.map(auditRow));
    if (page.data.length) {
      newestId = Math.max(newestId, page.data[0].id);
      oldestId = page.data.at(-1).id;
    }
    hasMore = page.has_more;
  },
);

// After a change of ours: the lines since the newest shown, on top.
const auditNewer = () => readAudit(`after=${newestId}&limit=1000`, (page) => {
  $("audit_body").prepend(...page.data.map(auditRow).reverse());
  if (page.data.length) newestId = page.data.at(-1).id;
  oldestId ??= page.data[0]?.id ?? null;
});

$("audit_more").addEventListener("click", auditPage);

// --- start ----------------------------------------------------------------------------------
async function start() {
  await loadKeys(); // first: the log names actors by their accounts
  try {
    showAccess(await get("/v1/admin/access"));
  } catch (error) {
    $("access_state").textContent = `The switch could not be read: ${error.message}`;
  }
  await auditPage();
}
start();
