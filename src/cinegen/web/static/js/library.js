// The Library: the account's finished videos, newest first, found by words of their prompt
// (GET /backend/video_gen?status=succeeded&prompt=…, paged with `before`). A tile plays its
// video while the pointer rests on it or it has focus; moving the pointer across it scrubs
// through the spritesheet, and the video then plays on from the frame shown.
import { ApiError, clearErrors, el, get, showError } from "./api.js";
import { drawTile, spritesheetOf, tileAt } from "./spritesheet.js";

const PAGE = 24; // tasks per request
const REST_MS = 600; // a pointer still this long stops scrubbing: the video plays on

const grid = document.getElementById("library");
const status = document.getElementById("library_status");
const more = document.getElementById("load_more");
const search = document.getElementById("search");
const query = document.getElementById("search_prompt");

let cursor = null; // the last task id shown: the next page starts after it
let prompt = "";
let shown = 0;
let asking = 0; // a newer search makes older answers stale

function tile(task, generation) {
  const label = task.generations.length > 1
    ? `Variant ${generation.index + 1} of ${task.generations.length}` : null;
  const thumbnail = generation.encodings.thumbnail?.path ?? generation.url;
  const media = el("div", { class: "media" },
    el("img", { src: thumbnail, alt: "", loading: "lazy", width: generation.width, height: generation.height }));
  const link = el("a", { href: `/library/${encodeURIComponent(generation.id)}` },
    media,
    el("p", { class: "prompt" }, task.prompt),
    el("p", { class: "meta" }, [label, task.operation === "simple_compose" ? null : task.operation,
      new Date(task.created_at).toLocaleString(),
      `${generation.width}×${generation.height}`, task.type === "image_gen" ? "image" : null]
      .filter(Boolean).join(" · ")),
  );
  const item = el("li", { class: "tile", "data-generation-id": generation.id }, link);
  if (task.type === "video_gen") animate(link, media, generation);
  return item;
}

// Hover and focus play the video; pointer moves scrub through the spritesheet.
function animate(link, media, generation) {
  let video = null;
  let canvas = null;
  let sheet = null;
  let rest = 0;
  let inside = false;

  const ensureVideo = () => {
    video ??= media.appendChild(el("video", {
      src: generation.url, muted: true, loop: true, playsinline: true, preload: "auto", "aria-hidden": "true",
    }));
    video.muted = true; // the attribute alone does not mute a video made by script
    return video;
  };
  const play = () => {
    const v = ensureVideo();
    v.hidden = false;
    v.play().catch(() => {}); // interrupted by a pause: nothing to report
  };
  const stop = () => {
    clearTimeout(rest);
    if (video) { video.pause(); video.hidden = true; }
    if (canvas) canvas.hidden = true;
    media.classList.remove("scrubbing");
  };
  const scrub = async (event) => {
    if (event.pointerType === "touch") return;
    const box = media.getBoundingClientRect();
    const fraction = (event.clientX - box.left) / box.width;
    try { sheet ??= await spritesheetOf(generation.id); } catch { return; }
    if (!sheet || !inside) return;
    const { tile: k, frame } = tileAt(sheet.layout, fraction);
    canvas ??= media.appendChild(el("canvas", { class: "scrub", "aria-hidden": "true" }));
    drawTile(canvas, sheet, k);
    canvas.dataset.frame = String(frame);
    canvas.hidden = false;
    media.classList.add("scrubbing");
    ensureVideo().pause();
    clearTimeout(rest);
    rest = setTimeout(() => {
      if (!inside) return;
      const v = ensureVideo();
      if (Number.isFinite(v.duration)) v.currentTime = (frame / generation.n_frames) * v.duration;
      canvas.hidden = true;
      media.classList.remove("scrubbing");
      play();
    }, REST_MS);
  };

  link.addEventListener("mouseenter", () => { inside = true; play(); });
  link.addEventListener("mouseleave", () => { inside = false; if (document.activeElement !== link) stop(); });
  link.addEventListener("focus", play);
  link.addEventListener("blur", () => { if (!inside) stop(); });
  media.addEventListener("pointermove", scrub);
}

function say(text) {
  status.textContent = text;
}

async function load({ fresh }) {
  const ask = ++asking;
  if (fresh) { cursor = null; shown = 0; }
  const params = new URLSearchParams({ limit: String(PAGE), status: "succeeded" });
  if (prompt) params.set("prompt", prompt);
  if (cursor) params.set("before", cursor);
  more.disabled = true;
  let page;
  try {
    page = await get(`/backend/video_gen?${params}`);
  } catch (error) {
    if (ask !== asking) return;
    more.disabled = false;
    if (error instanceof ApiError) showError(search, error);
    else throw error;
    return;
  }
  if (ask !== asking) return;
  if (fresh) grid.replaceChildren();
  const tiles = page.task_responses
    .flatMap((task) => task.generations.map((generation) => tile(task, generation)));
  grid.append(...tiles);
  shown += tiles.length;
  cursor = page.last_id ?? cursor;
  more.hidden = !page.has_more;
  more.disabled = false;
  if (shown) say(`${shown} ${shown === 1 ? "video" : "videos"}${prompt ? ` matching “${prompt}”` : ""}${page.has_more ? ", more to load" : ""}`);
  else say(prompt ? `No videos match “${prompt}”.` : "No videos yet: what you make on the Create page appears here.");
}

let typing = 0;
query.addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(() => search.requestSubmit(), 400);
});
search.addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(typing);
  clearErrors(search);
  prompt = query.value.trim();
  load({ fresh: true });
});
more.addEventListener("click", () => load({ fresh: false }));
load({ fresh: true });
