// The Create form: gathers a GenerationSpec in the Sora `video_gen` dialect (the API Sora's
// own web app spoke), uploads any pictures first, and shows a refusal at the field it names.
import { acceptDrops, ApiError, clearErrors, el, get, post, showError } from "./api.js";

const SORA_FPS = 30; // the dialect counts n_frames at 30 per second
const form = document.getElementById("create");
const $ = (id) => document.getElementById(id);

// --- the model's abilities, from the registry -------------------------------------------
const model = $("model");
const sound = $("audio");
const describeModel = () => {
  const chosen = model.selectedOptions[0];
  $("model_detail").textContent = chosen?.dataset.detail ?? "";
  $("audio_detail").textContent = chosen?.dataset.makesSound === "true"
    ? `${chosen.value} makes sound with its videos.`
    : `${chosen?.value} makes no sound: its videos are silent.`;
};
model.addEventListener("change", describeModel);
describeModel();

// --- the image reference: pick or drop ---------------------------------------------------
const reference = $("reference");
const drop = $("reference_drop");
acceptDrops(drop, reference);

// --- the storyboard: shots added, removed, reordered ---------------------------------------
const shots = $("shots");
$("storyboard_on").addEventListener("change", (e) => {
  $("storyboard").hidden = !e.target.checked;
  if (e.target.checked && !shots.children.length) { addShot(); addShot(); }
});
$("add_shot").addEventListener("click", () => addShot().querySelector("textarea").focus());

function addShot() {
  const shot = $("shot_template").content.firstElementChild.cloneNode(true);
  shot.querySelector(".shot-remove").addEventListener("click", () => { shot.remove(); numberShots(); });
  shot.querySelector(".shot-up").addEventListener("click", () => {
    if (shot.previousElementSibling) shots.insertBefore(shot, shot.previousElementSibling);
    numberShots();
    shot.querySelector(".shot-up").focus();
  });
  shot.querySelector(".shot-down").addEventListener("click", () => {
    if (shot.nextElementSibling) shots.insertBefore(shot.nextElementSibling, shot);
    numberShots();
    shot.querySelector(".shot-down").focus();
  });
  shots.append(shot);
  numberShots();
  return shot;
}

// Ids, labels and error slots follow each shot's place, so "storyboard[1].prompt" finds it.
// The shot's number is in the visible text, not only in an aria-label: a speech user says
// what they see ("click Move shot 2 up"), and axe's label-content-name-mismatch agrees.
function numberShots() {
  [...shots.children].forEach((shot, i) => {
    const n = i + 1;
    const labels = [`Shot ${n} prompt`, `Shot ${n} starts at (seconds)`, `Shot ${n} image`,
      `Shot ${n} image at (seconds into the shot)`];
    shot.querySelectorAll("label").forEach((label, j) => {
      const input = shot.querySelectorAll("textarea, input")[j];
      input.id = `shot_${n}_${j}`;
      label.htmlFor = input.id;
      label.textContent = labels[j];
    });
    shot.querySelector("textarea").dataset.field = `storyboard.${i}.prompt`;
    shot.querySelector(".shot-image").dataset.field = `storyboard.${i}.media`;
    shot.querySelector(".shot-up").textContent = `Move shot ${n} up`;
    shot.querySelector(".shot-down").textContent = `Move shot ${n} down`;
    shot.querySelector(".shot-remove").textContent = `Remove shot ${n}`;
  });
}

// --- @ mentions of the account's characters -------------------------------------------------
const prompt = $("prompt");
const mentions = $("mentions");
let characters = null;

prompt.addEventListener("input", async () => {
  const typed = prompt.value.slice(0, prompt.selectionStart).match(/(?:^|\s)@([\w.-]*)$/);
  if (!typed) { mentions.hidden = true; return; }
  characters ??= await get("/v1/videos/characters").then((r) => r.data).catch(() => []);
  const found = characters.filter((c) => c.name.toLowerCase().startsWith(typed[1].toLowerCase()));
  mentions.replaceChildren(...found.slice(0, 8).map((c, i) => el("li", {
    role: "option", id: `mention_${i}`, "aria-selected": i === 0 ? "true" : "false",
    onmousedown: (e) => { e.preventDefault(); mention(c.name); },
  }, `@${c.name}`)));
  mentions.hidden = !found.length;
});

prompt.addEventListener("keydown", (e) => {
  if (mentions.hidden) return;
  const options = [...mentions.children];
  const at = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    const next = (at + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
    options.forEach((o, i) => o.setAttribute("aria-selected", i === next ? "true" : "false"));
  } else if (e.key === "Enter" || e.key === "Tab") {
    e.preventDefault();
    mention(options[at].textContent.slice(1));
  } else if (e.key === "Escape") {
    mentions.hidden = true;
  }
});

function mention(name) {
  const before = prompt.value.slice(0, prompt.selectionStart).replace(/@[\w.-]*$/, `@${name} `);
  prompt.value = before + prompt.value.slice(prompt.selectionStart);
  prompt.selectionStart = prompt.selectionEnd = before.length;
  mentions.hidden = true;
}

// --- Create --------------------------------------------------------------------------------
// An uploaded picture's id; a refusal of it is shown at the control it was picked in
// (`field`), not as the upload route's own `file`.
async function upload(file, field) {
  const body = new FormData();
  body.append("file", file);
  try {
    return (await post("/backend/uploads", body)).id;
  } catch (error) {
    if (error instanceof ApiError) error.param = field;
    throw error;
  }
}

async function request() {
  const [width, height] = $("size").value.split("x").map(Number);
  const body = {
    prompt: prompt.value,
    model: model.value,
    preset: form.querySelector('input[name="preset"]:checked')?.value,
    style: $("style").value,
    width,
    height,
    n_frames: Math.round(Number($("duration").value) * SORA_FPS),
    n_variants: Number($("variants").value),
  };
  if ($("seed").value !== "") body.seed = Number($("seed").value);
  if ($("negative").value.trim()) body.negative_prompt = $("negative").value;
  if (!sound.selectedOptions[0].defaultSelected) body.audio = sound.value;
  if ($("audio_prompt").value.trim()) body.audio_prompt = $("audio_prompt").value;
  if (reference.files.length) {
    const id = await upload(reference.files[0], "inpaint_items");
    body.inpaint_items = [{ type: "image", upload_id: id, frame_index: 0 }];
  }
  if ($("storyboard_on").checked) {
    body.operation = "storyboard";
    body.storyboard = [];
    for (const [i, shot] of [...shots.children].entries()) {
      const entry = {
        prompt: shot.querySelector(".shot-prompt").value,
        start_frame: Math.round(Number(shot.querySelector(".shot-start").value || 0) * SORA_FPS),
      };
      const image = shot.querySelector(".shot-image").files[0];
      if (image) {
        const id = await upload(image, `storyboard.${i}.media`);
        // (frame_index counts from the shot's own start)
        const at = Math.round(Number(shot.querySelector(".shot-image-at").value || 0) * SORA_FPS);
        entry.media = { type: "image", upload_id: id, frame_index: at };
      }
      body.storyboard.push(entry);
    }
  }
  return body;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors(form);
  const button = $("create_button");
  button.disabled = true;
  try {
    const body = await request();
    const created = await post("/backend/video_gen", body);
    document.dispatchEvent(new CustomEvent("task-created", { detail: { id: created.id, prompt: body.prompt } }));
  } catch (error) {
    if (error instanceof ApiError) showError(form, error);
    else throw error;
  } finally {
    button.disabled = false;
  }
});
