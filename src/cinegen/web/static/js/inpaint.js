// The Inpaint box: drawn with the pointer on a canvas over the paused frame, or typed in
// four number inputs (x, y, w, h as fractions of the frame, 0..1) for keyboard users; the
// two stay in step. `region()` is the box as the spec takes it: [x0, y0, x1, y1].

const $ = (id) => document.getElementById(id);
const round = (v) => Math.round(Math.min(1, Math.max(0, v)) * 100) / 100;

export function boxDrawing(video) {
  const canvas = $("inpaint_canvas");
  const inputs = ["x", "y", "w", "h"].map((k) => $(`inpaint_${k}`));
  let frame = null; // the paused frame, kept to redraw under a moving box
  let from = null; // where a drag began, as fractions

  const box = () => inputs.map((input) => Number(input.value));

  function draw() {
    const context = canvas.getContext("2d");
    const { width, height } = canvas;
    if (frame) context.drawImage(frame, 0, 0);
    else { context.fillStyle = "#000"; context.fillRect(0, 0, width, height); }
    const [x, y, w, h] = box();
    if (![x, y, w, h].every(Number.isFinite)) return;
    // Dim what stays; outline what is made anew.
    context.fillStyle = "rgba(0, 0, 0, 0.45)";
    context.beginPath();
    context.rect(0, 0, width, height);
    context.rect(x * width, y * height, w * width, h * height);
    context.fill("evenodd");
    context.lineWidth = Math.max(2, width / 200);
    context.strokeStyle = "#ff9d00";
    context.strokeRect(x * width, y * height, w * width, h * height);
  }

  // The frame the player shows now (a same-origin video: the canvas stays readable).
  function capture() {
    if (video.readyState < 2 || !video.videoWidth) return;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    frame ??= document.createElement("canvas");
    frame.width = canvas.width;
    frame.height = canvas.height;
    frame.getContext("2d").drawImage(video, 0, 0);
    draw();
  }

  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (e.clientY - r.top) / r.height))];
  };
  const set = ([x0, y0], [x1, y1]) => {
    const values = [Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0)];
    values.forEach((v, i) => { inputs[i].value = String(round(v)); });
    draw();
  };

  canvas.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    video.pause();
    from = at(e);
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => { if (from) set(from, at(e)); });
  canvas.addEventListener("pointerup", (e) => {
    if (!from) return;
    set(from, at(e));
    from = null;
  });
  canvas.addEventListener("pointercancel", () => { from = null; });
  for (const input of inputs) input.addEventListener("input", draw);
  for (const type of ["loadeddata", "seeked", "pause"]) video.addEventListener(type, capture);
  canvas.width = 320;
  canvas.height = 180;
  draw();

  return {
    region() {
      const [x, y, w, h] = box();
      return [x, y, round(x + w), round(y + h)];
    },
  };
}
