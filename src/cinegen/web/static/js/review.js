// The review queue: each generation waiting for a decision, with its video, Approve, and
// Reject with a reason told to its owner. A decision takes the item off the list and the
// list is read again (another reviewer may have decided meanwhile); a refusal (your own
// generation, decided already) shows in the item.
import { ApiError, clearErrors, el, get, post, showError } from "./api.js";

const list = document.getElementById("review_queue");
const empty = document.getElementById("review_empty");
const status = document.getElementById("review_status");
const loadError = document.getElementById("review_error");

// Datetimes the server stores without a zone are UTC.
const when = (text) => new Date(/[zZ]|[+-]\d\d:\d\d$/.test(text) ? text : `${text}Z`);
const shown = (text) => when(text).toLocaleString();

// The video's path on this origin (the answer's URL names the host the server saw).
const local = (url) => { const u = new URL(url, location.href); return u.pathname + u.search; };

function item(entry) {
  const id = entry.generation_id;
  const title = `review_${id}_title`;
  const form = el("form", { class: "decision", novalidate: true },
    el("div", { class: "field" },
      el("label", { for: `reason_${id}` }, "Reason for rejecting"),
      el("input", { id: `reason_${id}`, type: "text", "data-field": "reason", maxlength: "2000",
        "aria-describedby": `reason_${id}_hint` }),
      el("p", { id: `reason_${id}_hint`, class: "hint" }, "Told to the owner. Optional."),
      el("p", { class: "field-error", hidden: true }),
    ),
    el("p", { class: "form-error", role: "alert", hidden: true }),
    el("div", { class: "actions" },
      el("button", { type: "button", "aria-describedby": title, onclick: () => decide(form, entry, true) }, "Approve"),
      el("button", { type: "submit", class: "danger", "aria-describedby": title }, "Reject"),
    ),
  );
  form.addEventListener("submit", (e) => { e.preventDefault(); decide(form, entry, false); });
  return el("li", { class: "card review-item", id: `review_${id}`, "aria-labelledby": title },
    el("div", { class: "player" },
      el("video", { src: local(entry.content_url), controls: true, loop: true, playsinline: true,
        preload: "metadata", "aria-label": `Video of “${entry.prompt}”` }),
    ),
    el("div", {},
      el("h2", { id: title }, entry.prompt),
      el("dl", { class: "record" },
        el("dt", {}, "Account"), el("dd", {}, entry.account),
        el("dt", {}, "Asked"), el("dd", {}, el("time", { datetime: entry.requested_at }, shown(entry.requested_at))),
        el("dt", {}, "Task"), el("dd", {}, el("code", {}, entry.task_id)),
        el("dt", {}, "Generation"), el("dd", {}, el("code", {}, entry.generation_id)),
      ),
      form,
    ),
  );
}

async function decide(form, entry, approve) {
  clearErrors(form);
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  const reason = form.querySelector('[data-field="reason"]').value.trim();
  const path = `/v1/review/${encodeURIComponent(entry.generation_id)}/${approve ? "approve" : "reject"}`;
  try {
    const decided = await post(path, approve ? {} : { reason });
    if (decided.state === "approved") {
      status.replaceChildren(`Approved “${entry.prompt}”: `, el("a", { href: decided.url }, "its public page"));
    } else {
      status.replaceChildren(`Rejected “${entry.prompt}”${reason ? `: ${reason}` : ""}`);
    }
    document.getElementById(`review_${entry.generation_id}`)?.remove();
    await load();
  } catch (error) {
    showError(form, error instanceof ApiError ? error : { message: `${error.message}: try again`, param: null });
    buttons.forEach((b) => { b.disabled = false; });
  }
}

async function load() {
  loadError.hidden = true;
  try {
    const queue = await get("/v1/review/queue?limit=100");
    const waiting = new Set(queue.data.map((entry) => `review_${entry.generation_id}`));
    for (const old of [...list.children]) if (!waiting.has(old.id)) old.remove();
    // Items already shown stay as they are (a video playing, a reason half typed).
    for (const entry of queue.data) if (!document.getElementById(`review_${entry.generation_id}`)) list.append(item(entry));
    empty.hidden = queue.data.length > 0;
  } catch (error) {
    loadError.textContent = `The review queue could not be read: ${error.message}`;
    loadError.hidden = false;
  }
}

document.getElementById("review_refresh").addEventListener("click", load);
load();
