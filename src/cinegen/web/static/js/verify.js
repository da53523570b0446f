// The Verify page: a dropped or picked file goes to POST /v1/verify; the answer shows its
// C2PA state, its invisible watermark and, when either leads to a task made here, that task
// (its id only for its own account or an admin: the server withholds it from others).
import { acceptDrops, ApiError, clearErrors, el, post, showError } from "./api.js";

const $ = (id) => document.getElementById(id);
const form = $("verify");
const input = $("verify_file");
const drop = $("verify_drop");

// What each C2PA state means, in words a person can act on.
const C2PA_STATES = {
  Trusted: "Signed by this server, and unchanged since: the signature checks out against this server's certificate.",
  Valid: "Signed and unchanged since, but by a signer this server does not know.",
  Invalid: "It carries Content Credentials that no longer match it: changed after signing, or a broken signature.",
  None: "No Content Credentials: never signed, or stripped (re-encoding and uploads to most sites strip them).",
};
const FOUND_BY = { c2pa: "its signed Content Credentials", watermark: "its invisible watermark" };

acceptDrops(drop, input, () => form.requestSubmit());

function facts(list, rows) {
  list.replaceChildren(...rows.filter(Boolean).flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

function verdict(report) {
  const mark = report.watermark ?? {};
  if (report.c2pa?.state === "Trusted") return ["ok", "Made by this server: its Content Credentials are signed by it."];
  if (mark.this_server) return ["ok", "Made by this server: its invisible watermark names it."];
  if (report.c2pa?.state === "Invalid") return ["bad", "Not verified: its Content Credentials do not match the file."];
  return ["unknown", "Not made by this server, as far as its credentials and watermark tell."];
}

function show(report) {
  const [kind, words] = verdict(report);
  $("verdict").className = `verdict ${kind}`;
  $("verdict").textContent = words;
  const c2pa = report.c2pa ?? {};
  const generator = report.generator || null;
  facts($("c2pa_facts"), [
    ["File", report.file],
    ["State", `${c2pa.state} — ${C2PA_STATES[c2pa.state] ?? ""}`],
    c2pa.problems?.length ? ["Problems", el("ul", {}, ...c2pa.problems.map((p) => el("li", {}, el("code", {}, p))))] : null,
    generator ? ["Made with", `${generator.model}, preset ${generator.preset ?? "—"}, seed ${generator.seed ?? "—"}`] : null,
  ]);
  const mark = report.watermark ?? {};
  facts($("watermark_facts"), [
    ["Found", mark.detected ? "yes" : "no"],
    mark.detected ? ["Confidence", `${(mark.confidence * 100).toFixed(2)}%`] : null,
    mark.detected ? ["Server", mark.this_server ? "this server" : `another server (${mark.server})`] : null,
    mark.payload ? ["Payload", el("code", {}, mark.payload)] : null,
    mark.problem ? ["Problem", mark.problem] : null,
  ]);
  const task = report.task;
  facts($("task_facts"), task ? [
    ["Made here", task.on_this_server ? "yes" : "no: no such task on this server now"],
    ["Task", task.id ? el("code", {}, task.id) : "withheld: not one of your account's tasks"],
    ["Yours", task.yours ? "yes" : "no"],
    ["Found by", FOUND_BY[task.found_by] ?? task.found_by ?? "—"],
  ] : [["Task", "none named: neither witness leads to a task on this server"]]);
  $("manifest_details").hidden = !c2pa.manifest;
  $("manifest").textContent = c2pa.manifest ? JSON.stringify(c2pa.manifest, null, 2) : "";
  $("verify_result").hidden = false;
  $("verdict-title").focus();
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors(form);
  const file = input.files[0];
  if (!file) {
    showError(form, { message: "pick or drop a file first", param: "file" });
    return;
  }
  const body = new FormData();
  body.append("file", file);
  $("verify_button").disabled = true;
  form.setAttribute("aria-busy", "true");
  $("verify_progress").textContent = `Verifying “${file.name}”: reading every frame takes a moment…`;
  try {
    show(await post("/v1/verify", body));
    $("verify_progress").textContent = `Verified “${file.name}”.`;
  } catch (error) {
    $("verify_progress").textContent = "";
    showError(form, error instanceof ApiError ? error : { message: `${error.message}: try again`, param: null });
  } finally {
    $("verify_button").disabled = false;
    form.removeAttribute("aria-busy");
  }
});
