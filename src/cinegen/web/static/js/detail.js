// The detail view of one generation: a player that steps frame by frame, the record and
// provenance as GET /v1/generations/{id} gives them, downloads, sharing and Delete; the
// operations "from this video" live in operations.js.
import { ApiError, clearErrors, del, el, post, showError } from "./api.js";
import { recordOf } from "./spritesheet.js";
import { setUp as setUpOperations } from "./operations.js";

const $ = (id) => document.getElementById(id);
const generationId = $("detail").dataset.generationId;
const video = $("video");

// --- the player -------------------------------------------------------------------------------
function player(record) {
  const fps = record.fps;
  const last = record.n_frames - 1;
  const frame = () => Math.min(last, Math.max(0, Math.floor(video.currentTime * fps + 1e-3)));
  // The middle of a frame's time: no rounding lands on its neighbour.
  const show = (k) => {
    video.pause();
    video.currentTime = (Math.min(last, Math.max(0, k)) + 0.5) / fps;
  };
  const toggle = () => (video.paused || video.ended ? video.play().catch(() => {}) : video.pause());
  const position = () => {
    const k = frame();
    $("position").textContent = `Frame ${k + 1} of ${record.n_frames} · ${(k / fps).toFixed(2)} s of ${record.seconds.toFixed(2)} s`;
  };
  const playing = () => {
    const paused = video.paused || video.ended;
    $("play").textContent = paused ? "Play" : "Pause";
  };

  $("play").addEventListener("click", toggle);
  $("previous_frame").addEventListener("click", () => show(frame() - 1));
  $("next_frame").addEventListener("click", () => show(frame() + 1));
  $("loop").addEventListener("change", (e) => { video.loop = e.target.checked; });
  // A video with sound plays it: the element is never muted unless the person says so.
  $("mute_label").hidden = !record.has_audio;
  $("mute").addEventListener("change", (e) => { video.muted = e.target.checked; });
  for (const type of ["play", "pause", "ended"]) video.addEventListener(type, playing);
  for (const type of ["timeupdate", "seeked", "loadeddata"]) video.addEventListener(type, position);
  video.addEventListener("click", toggle);
  $("player").addEventListener("keydown", (e) => {
    if (e.target !== $("player")) return; // keys typed in a control are the control's
    const keys = {
      " ": toggle, k: toggle, ArrowLeft: () => show(frame() - 1), ArrowRight: () => show(frame() + 1),
      l: () => $("loop").click(), Home: () => show(0), End: () => show(last),
    };
    const act = keys[e.key];
    if (!act || e.ctrlKey || e.metaKey || e.altKey) return;
    e.preventDefault();
    act();
  });
  video.src = record.files.video;
  if (record.files.thumbnail) video.poster = record.files.thumbnail;
  position();
  playing();
  return { show };
}

// --- the record and its provenance ----------------------------------------------------------
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "not yet");

// "48 kHz stereo AAC, −16.0 LUFS", as the sidecar recorded the track; "none" for a silent
// video, nothing before the video exists.
const CHANNELS = { 1: "mono", 2: "stereo" };
const signed = (x) => `${x < 0 ? "−" : ""}${Math.abs(x).toFixed(1)}`;

function soundOf(record) {
  if (record.type === "image_gen" || record.state !== "succeeded") return null;
  const s = record.sound;
  if (!s) return record.has_audio ? "a sound track (its facts were not recorded)" : "none";
  const loudness = s.loudness_lufs === null ? "silent" : `${signed(s.loudness_lufs)} LUFS`;
  const channels = CHANNELS[s.channels] ?? `${s.channels} channels`;
  return `${s.rate / 1000} kHz ${channels} ${s.codec.toUpperCase()}, ${loudness}`;
}

function rows(list, entries) {
  list.replaceChildren(...entries.filter(([, value]) => value !== null && value !== undefined && value !== "")
    .flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

function sourceLinks(record) {
  if (!record.source) return null;
  const links = record.source.generation_ids.map((id) => el("a", { href: `/library/${encodeURIComponent(id)}` }, id));
  return el("span", {}, `${record.operation} of `, ...links.flatMap((a, i) => (i ? [" and ", a] : [a])));
}

function showRecord(record) {
  const length = record.type === "image_gen" ? "one image"
    : `${record.n_frames} frames · ${record.seconds.toFixed(2)} s at ${record.fps} fps`;
  const timings = Object.entries(record.timings).map(([k, v]) => `${k.replace(/_s$/, "")} ${v.toFixed(2)} s`).join(", ");
  rows($("record"), [
    ["Prompt", record.prompt],
    ["Negative prompt", record.negative_prompt],
    ["Made by", sourceLinks(record)],
    ["Model", record.model],
    ["Preset", record.preset],
    ["Style", record.style],
    ["Seed", String(record.seed)],
    ["Size", `${record.width}×${record.height}`],
    ["Length", length],
    ["Sound", soundOf(record)],
    ["Variant", record.variants > 1 ? `${record.index + 1} of ${record.variants}` : null],
    ["Created", when(record.created_at)],
    ["Started", when(record.started_at)],
    ["Finished", when(record.finished_at)],
    ["Render time", record.render_s === null ? null : `${record.render_s.toFixed(1)} s${timings ? ` (${timings})` : ""}`],
  ]);
  const p = record.provenance;
  if (!p.recorded) {
    rows($("provenance"), [["Record", "this server no longer has the record of its marks"]]);
    return;
  }
  rows($("provenance"), [
    ["C2PA", p.c2pa ? "signed Content Credentials (C2PA manifest) in the file" : "no C2PA manifest"],
    ["Visible mark", p.visible_mark ? `“${p.visible_mark}” in the corner of every frame` : "none"],
    ["Invisible watermark", p.invisible_mark
      ? `naming this server and task (${p.invisible_mark}), kept through re-encoding`
      : "none (off, or frames too small to carry one)"],
  ]);
}

function downloads(record) {
  const name = record.id;
  for (const [kind, suffix] of [["video", ".mp4"], ["image", ".png"], ["thumbnail", ".webp"]]) {
    const link = $(`download_${kind}`);
    link.hidden = !record.files[kind];
    if (record.files[kind]) {
      link.href = record.files[kind];
      link.download = `${name}-${kind}${suffix}`;
    }
  }
}

// --- sharing ----------------------------------------------------------------------------------
function showShare(share) {
  const state = $("share_state");
  const button = $("share");
  if (!share) {
    state.replaceChildren("Not shared: only you can see it.");
    button.hidden = false;
    return;
  }
  button.hidden = true;
  if (share.state === "pending") state.replaceChildren("Pending review: a reviewer decides before it is public.");
  else if (share.state === "approved") {
    state.replaceChildren("Approved: public at ", el("a", { href: share.url }, share.url));
  } else state.replaceChildren(`Rejected${share.reason ? `: ${share.reason}` : " (no reason given)"}.`);
}

$("share_form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form);
  $("share").disabled = true;
  try {
    showShare(await post(`/v1/generations/${encodeURIComponent(generationId)}/share`));
  } catch (error) {
    if (error instanceof ApiError) showError(form, error);
    else throw error;
  } finally {
    $("share").disabled = false;
  }
});

// --- delete -----------------------------------------------------------------------------------
function deleting(record) {
  const dialog = $("confirm_delete");
  if (record.variants > 1) {
    $("confirm_delete_text").textContent = `This removes all ${record.variants} variants of its request, their files and their record, for good.`;
  }
  $("delete").addEventListener("click", () => dialog.showModal());
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "confirm") { $("delete").focus(); return; }
    dialog.returnValue = "";
    const slot = $("delete_error");
    slot.hidden = true;
    try {
      await del(`/v1/videos/${encodeURIComponent(record.task_id)}`);
      location.assign("/library");
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      slot.textContent = error.message;
      slot.hidden = false;
    }
  });
}

// --- the page -----------------------------------------------------------------------------------
function notice(text) {
  $("detail_notice").textContent = text;
  $("detail_notice").hidden = false;
}

async function load() {
  let record;
  try {
    record = await recordOf(generationId);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    notice(error.status === 404 ? "There is no such video in your library (it may have been deleted or expired)." : error.message);
    return;
  }
  document.title = `${record.prompt.slice(0, 60)} — cinegen studio`;
  // The whole prompt is in the record; a heading stays a heading.
  $("detail_title").textContent = record.prompt.length > 140 ? `${record.prompt.slice(0, 139)}…` : record.prompt;
  $("detail_body").hidden = false;
  showRecord(record);
  showShare(record.share);
  downloads(record);
  deleting(record);
  if (record.state !== "succeeded") {
    notice(`This video's task is ${record.state}: its files exist once it has succeeded.`);
    $("controls").hidden = true;
    return;
  }
  if (record.type === "image_gen") {
    video.hidden = true;
    $("controls").hidden = true;
    for (const name of ["tabindex", "role", "aria-label"]) $("player").removeAttribute(name);
    $("still").src = record.files.image;
    $("still").alt = record.prompt;
    $("still").hidden = false;
    return;
  }
  const controls = player(record);
  $("from_video").hidden = false;
  setUpOperations(record, { video, show: controls.show });
}

load();
