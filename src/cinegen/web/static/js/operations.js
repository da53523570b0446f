// "From this video": each operation is a small form that POSTs /backend/video_gen with
// `operation` and `source` (spec.Source), the video's size, and a length counted at the
// video's own frame rate (sent as `fps`); the scene planner's next shots start new videos under their prompts;
// Make character sends the video's bytes to POST /v1/videos/characters. A refusal shows at
// the field it names: the shared model, style and seed above, or the form's own.
import { ApiError, clearErrors, el, get, post, showError } from "./api.js";
import { boxDrawing } from "./inpaint.js";

const $ = (id) => document.getElementById(id);
const settings = $("op_settings");
const checked = (form, name) => form.querySelector(`input[name="${name}"]:checked`)?.value;

// --- what every request from this video shares ---------------------------------------------------
function common(record, { prompt, operation, seconds }) {
  const body = {
    prompt,
    operation,
    model: $("op_model").value,
    style: $("op_style").value,
    width: record.width,
    height: record.height,
    // At the video's own rate, so that its frames keep their timing in what is made from it.
    fps: record.fps,
    n_frames: Math.max(1, Math.round(seconds * record.fps)),
  };
  if (record.preset) body.preset = record.preset;
  if ($("op_seed").value !== "") body.seed = Number($("op_seed").value);
  return body;
}

function refuse(form, error) {
  clearErrors(settings);
  const top = error.param?.split(".")[0];
  if (top && settings.querySelector(`[data-field="${CSS.escape(top)}"]`)) {
    clearErrors(form);
    showError(settings, error);
  } else showError(form, error);
}

function started(form, taskId) {
  const slot = form.querySelector(".started");
  slot.replaceChildren("Started: ", el("a", { href: "/" }, "see the queue"), ".");
  slot.dataset.taskId = taskId;
}

// Send what `build()` makes (it may be async); show the start or the refusal.
function submitting(form, build) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    clearErrors(settings);
    form.querySelector(".started").replaceChildren();
    const button = e.submitter ?? form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    try {
      const answer = await build(e.submitter);
      if (answer?.id) started(form, answer.id);
    } catch (error) {
      if (error instanceof ApiError) refuse(form, error);
      else throw error;
    } finally {
      if (button) button.disabled = false;
    }
  });
}

const source = (record, extra = {}) => ({ generation_ids: [record.id], ...extra });
const videoGen = (body) => post("/backend/video_gen", body);

// --- the operations ------------------------------------------------------------------------------
function remix(record) {
  const form = $("op_remix");
  submitting(form, () => videoGen({
    ...common(record, { prompt: $("remix_prompt").value, operation: "remix", seconds: record.seconds }),
    source: source(record, { strength: checked(form, "remix_strength") }),
  }));
}

function extend(record) {
  const form = $("op_extend");
  submitting(form, () => {
    const body = common(record, { prompt: $("extend_prompt").value, operation: "extend", seconds: 0 });
    // The video keeps its own frames; the new ones are counted at its rate.
    body.n_frames = record.n_frames + Math.round(Number($("extend_seconds").value) * record.fps);
    return videoGen({ ...body, source: source(record, { direction: checked(form, "extend_direction") }) });
  });
}

function loop(record) {
  submitting($("op_loop"), () => {
    const body = common(record, { prompt: $("loop_prompt").value, operation: "loop", seconds: 0 });
    body.n_frames = record.n_frames + Math.round(Number($("loop_seconds").value) * record.fps);
    return videoGen({ ...body, source: source(record) });
  });
}

async function blend(record) {
  const select = $("blend_with");
  submitting($("op_blend"), () => videoGen({
    ...common(record, { prompt: $("blend_prompt").value, operation: "blend", seconds: record.seconds }),
    source: { generation_ids: [record.id, select.value] },
  }));
  // The account's other finished videos, newest first (a few pages at most).
  const options = [];
  let before = null;
  for (let page = 0; page < 3; page++) {
    const params = new URLSearchParams({ limit: "100" });
    if (before) params.set("before", before);
    const listed = await get(`/backend/video_gen?${params}`);
    for (const task of listed.task_responses) {
      if (task.status !== "succeeded" || task.type !== "video_gen") continue;
      for (const g of task.generations) {
        if (g.id === record.id) continue;
        const variant = task.generations.length > 1 ? ` (variant ${g.index + 1})` : "";
        const label = `${task.prompt.slice(0, 80)}${variant} · ${new Date(task.created_at).toLocaleDateString()}`;
        options.push(el("option", { value: g.id }, label));
      }
    }
    if (!listed.has_more) break;
    before = listed.last_id;
  }
  select.replaceChildren(...options);
  $("blend_none").hidden = options.length > 0;
  select.disabled = $("blend_button").disabled = options.length === 0;
}

function recut(record, { show }) {
  const start = $("recut_start");
  const end = $("recut_end");
  const last = record.n_frames - 1;
  for (const range of [start, end]) range.max = String(last);
  // Keep the middle third at first: something to keep and something to make.
  start.value = String(Math.round(last / 3));
  end.value = String(Math.round((2 * last) / 3));
  const label = (range) => {
    const k = Number(range.value);
    const text = `frame ${k + 1} · ${(k / record.fps).toFixed(2)} s`;
    $(`${range.id}_time`).textContent = text;
    range.setAttribute("aria-valuetext", text);
  };
  const moved = (range, other, keepOrder) => {
    if (keepOrder()) other.value = range.value; // the two never cross
    label(start);
    label(end);
    show(Number(range.value)); // the player shows the frame the range is on
  };
  start.addEventListener("input", () => moved(start, end, () => Number(start.value) > Number(end.value)));
  end.addEventListener("input", () => moved(end, start, () => Number(end.value) < Number(start.value)));
  label(start);
  label(end);
  submitting($("op_recut"), () => videoGen({
    ...common(record, { prompt: $("recut_prompt").value, operation: "recut", seconds: 0 }),
    n_frames: record.n_frames, // the kept frames keep their place: the same timeline
    source: source(record, { start_frame: Number(start.value), end_frame: Number(end.value) }),
  }));
}

function inpaint(record, { video }) {
  const drawing = boxDrawing(video);
  submitting($("op_inpaint"), () => videoGen({
    ...common(record, { prompt: $("inpaint_prompt").value, operation: "inpaint", seconds: record.seconds }),
    source: source(record, { region: drawing.region() }),
  }));
}

function nextShots(record) {
  const form = $("op_shots");
  const list = $("next_shots");
  $("no_shots").hidden = record.actions.length > 0;
  list.replaceChildren(...record.actions.map((shot, i) => el("li", {},
    el("p", {}, shot),
    el("button", { type: "submit", value: String(i), "aria-label": `Start next shot ${i + 1}: ${shot}` }, "Start"),
  )));
  // A next shot is a new video under its prompt, made like this one (model, style, size,
  // length and, by default, seed) so that the cut holds together.
  submitting(form, (button) => videoGen(common(record, {
    prompt: record.actions[Number(button.value)], operation: "simple_compose", seconds: record.seconds,
  })));
}

function character(record) {
  const form = $("op_character");
  submitting(form, async () => {
    const clip = await fetch(record.files.video, { credentials: "same-origin" });
    if (!clip.ok) throw new ApiError(clip.status, { error: { message: "this video's file could not be read" } });
    const body = new FormData();
    body.append("name", $("character_name").value.trim());
    const description = $("character_description").value.trim();
    if (description) body.append("description", description);
    body.append("video", await clip.blob(), `${record.id}.mp4`);
    const made = await post("/v1/videos/characters", body);
    form.querySelector(".started").replaceChildren(
      `Character @${made.name} made: mention it as @${made.name} in a prompt on the `,
      el("a", { href: "/" }, "Create page"), ".");
    return null;
  });
}

export function setUp(record, player) {
  const model = $("op_model");
  if ([...model.options].some((o) => o.value === record.model)) model.value = record.model;
  else model.prepend(el("option", { value: record.model, selected: true }, record.model));
  $("op_style").value = record.style;
  $("op_seed").value = String(record.seed);
  for (const prompt of document.querySelectorAll(".op-prompt")) prompt.value = record.prompt;
  remix(record);
  extend(record);
  loop(record);
  recut(record, player);
  inpaint(record, player);
  nextShots(record);
  character(record);
  blend(record).catch((error) => showError($("op_blend"), error));
}
