// The queue: every task of the account, newest first, as the durable queue holds it (a
// reload or a server restart shows the same), live while it runs: state, place in the
// queue, progress and the preview frames streamed as server-sent events; Cancel.
//
// Streams are opened only for running tasks and the one just made (a browser allows six
// connections to a server: a stream per queued task would stall every other request);
// queued tasks are read again together, one list call every few seconds.
import { ApiError, el, events, get, post } from "./api.js";

const list = document.getElementById("queue");
const empty = document.getElementById("queue_empty");
const streams = new Map(); // task id -> EventSource
const ACTIVE = new Set(["queued", "running"]);
const LABELS = { queued: "Queued", running: "Rendering", succeeded: "Done", failed: "Failed", cancelled: "Cancelled" };
const PAGE = 50;
const TICK_MS = 3000;

function stateText(task) {
  if (task.status === "queued" && task.queue_position) return `Queued · place ${task.queue_position} in the queue`;
  if (task.status === "running") return `Rendering · ${Math.round(task.progress_pct * 100)}%`;
  if (task.status === "failed") return `Failed: ${task.failure_reason ?? "unknown error"}`;
  return LABELS[task.status] ?? task.status;
}

// A task made on this page plays as soon as it is done: a prompt and one click give a video.
const madeHere = new Set();

function picture(task, old) {
  const first = task.generations[0];
  if (first && madeHere.has(task.id) && task.type === "video_gen") {
    const video = el("video", { class: "preview", src: first.url, controls: true, autoplay: true,
      loop: true, playsinline: true, "aria-label": `Video of “${task.prompt}”` });
    video.muted = true; // (the attribute alone does not mute an element made by a script)
    return video;
  }
  const thumb = first?.encodings?.thumbnail?.path;
  const kept = old?.querySelector("img.preview")?.src;
  if (thumb || kept) {
    return el("img", { class: "preview", src: thumb ?? kept,
      alt: thumb ? `Thumbnail of “${task.prompt}”` : `Preview of “${task.prompt}”` });
  }
  return el("div", { class: "blank", role: "img", "aria-label": "No preview yet" });
}

function render(task) {
  const id = `task_${task.id}`;
  const old = document.getElementById(id);
  // States only move on: an answer that left before the task ended must not bring it back.
  if (old && !ACTIVE.has(old.dataset.state) && ACTIVE.has(task.status)) return old;
  if (old && old.dataset.state === task.status && task.status === "queued") {
    old.querySelector(".state").textContent = stateText(task); // (no re-announcement)
    return old;
  }
  const item = el("li", { class: "task", id, "data-state": task.status },
    picture(task, old),
    el("div", {},
      el("p", {}, task.prompt),
      el("p", { class: `state ${task.status}` }, stateText(task)),
      ACTIVE.has(task.status)
        ? el("progress", { max: "1", value: String(task.progress_pct), "aria-label": `Progress of “${task.prompt}”` })
        : null,
      el("p", { class: "field-error", hidden: true }),
      el("div", { class: "actions" },
        ACTIVE.has(task.status)
          ? el("button", { type: "button", class: "danger", "aria-label": `Cancel “${task.prompt}”`, onclick: () => cancel(task.id) }, "Cancel")
          : null,
        ...task.generations.map((g, i) => el("a", { href: `/library/${g.id}` },
          task.generations.length > 1 ? `Open variant ${i + 1}` : "Open")),
      ),
    ),
  );
  if (old) old.replaceWith(item);
  else list.prepend(item);
  empty.hidden = true;
  if (task.status === "running" || (madeHere.has(task.id) && ACTIVE.has(task.status))) follow(task);
  return item;
}

function follow(task) {
  if (streams.has(task.id)) return;
  const stream = events(task.id, (event) => {
    const item = document.getElementById(`task_${task.id}`);
    if (!item) return;
    if (event.image) {
      let img = item.querySelector("img.preview");
      if (!img) {
        img = el("img", { class: "preview", alt: `Preview of “${task.prompt}”` });
        item.querySelector(".blank")?.replaceWith(img);
      }
      img.src = event.image;
    }
    const bar = item.querySelector("progress");
    if (bar) bar.value = event.progress;
    if (event.state === "running") item.querySelector(".state").textContent = `Rendering · ${Math.round(event.progress * 100)}%`;
    if (!ACTIVE.has(event.state)) { stream.close(); streams.delete(task.id); refresh(task.id); }
  });
  streams.set(task.id, stream);
}

const ended = () => !document.getElementById("ended")?.hidden;

async function refresh(taskId) {
  try {
    render(await get(`/backend/video_gen/${encodeURIComponent(taskId)}`));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error; // (an ended session shows its banner)
  }
}

async function cancel(taskId) {
  try {
    render(await post(`/backend/video_gen/${encodeURIComponent(taskId)}/cancel`));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const slot = document.getElementById(`task_${taskId}`)?.querySelector(".field-error");
    if (slot) { slot.textContent = error.message; slot.hidden = false; }
    refresh(taskId);
  }
}

async function load() {
  try {
    const page = await get(`/backend/video_gen?limit=${PAGE}`);
    for (const task of page.task_responses.reverse()) render(task);
    empty.hidden = list.children.length > 0;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error; // (an ended session shows its banner)
  }
}

// Places in the queue move, and queued tasks start, as tasks ahead of them finish: the
// queued ones are read again together while any is shown.
const tick = setInterval(async () => {
  if (ended()) { clearInterval(tick); return; }
  if (list.querySelector('[data-state="queued"]')) await load();
}, TICK_MS);

// A task just made is shown and followed at once (its stream replays every event from the
// start), then filled in from the API.
document.addEventListener("task-created", (e) => {
  const { id, prompt } = e.detail;
  madeHere.add(id);
  render({ id, prompt, type: "video_gen", status: "queued", progress_pct: 0, queue_position: null, generations: [] });
  refresh(id);
});
load();
