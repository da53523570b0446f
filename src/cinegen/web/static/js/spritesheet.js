// A generation's spritesheet as the server lays it out (GET /v1/generations/{id} →
// spritesheet: {url, columns, rows, frames}): tile k, read left to right and top to bottom,
// shows frame frames[k]. Records and sheets are fetched once per page and shared.
import { get } from "./api.js";

const records = new Map(); // generation id -> Promise of its record
const sheets = new Map(); // spritesheet url -> Promise of a loaded <img>

export function recordOf(generationId) {
  if (!records.has(generationId)) {
    const asked = get(`/v1/generations/${encodeURIComponent(generationId)}`);
    asked.catch(() => records.delete(generationId)); // ask again next time
    records.set(generationId, asked);
  }
  return records.get(generationId);
}

function sheetImage(url) {
  if (!sheets.has(url)) {
    sheets.set(url, new Promise((resolve, reject) => {
      const image = new Image();
      image.onload = () => resolve(image);
      image.onerror = () => { sheets.delete(url); reject(new Error(`the spritesheet ${url} did not load`)); };
      image.src = url;
    }));
  }
  return sheets.get(url);
}

// The sheet and its layout for a generation, or null if it has none (an image).
export async function spritesheetOf(generationId) {
  const record = await recordOf(generationId);
  if (!record.spritesheet) return null;
  return { layout: record.spritesheet, image: await sheetImage(record.spritesheet.url), record };
}

// The tile under a point `fraction` (0..1) of the way across: {tile, frame}.
export function tileAt(layout, fraction) {
  const n = layout.frames.length;
  const tile = Math.min(n - 1, Math.max(0, Math.floor(fraction * n)));
  return { tile, frame: layout.frames[tile] };
}

// Draw tile k of the sheet on a canvas (sized to the tile: CSS scales it to fit).
export function drawTile(canvas, { layout, image }, tile) {
  const width = image.naturalWidth / layout.columns;
  const height = image.naturalHeight / layout.rows;
  const row = Math.floor(tile / layout.columns);
  const column = tile % layout.columns;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  canvas.getContext("2d").drawImage(image, column * width, row * height, width, height, 0, 0, width, height);
}
