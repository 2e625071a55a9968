// The home page: choose a photo or a video (picker or drag and drop), colourise or pick a
// filter, upload, follow the job (a clip shows its progress), then compare before/after and
// download. Four views share the page: the form, the progress card, the failure card and the
// result card; one is shown at a time.

import { setupClipView } from "./clips.js";
import { setupCompare } from "./compare.js";
import { ApiError, followJob, isAbort, submitJob } from "./jobs.js";

const $ = (id) => document.getElementById(id);
const form = $("upload");
const input = $("image");
const drop = $("drop");
const filterStep = $("filter-step");
const submit = $("submit");
const formError = $("form-error");
const progress = $("progress");
const failure = $("failure");
const result = $("result");
const after = $("after");
const before = $("before");
const download = $("download");
const galleryLink = $("gallery-link");
const compare = setupCompare($("compare"), $("split"));
const clipView = setupClipView(result);
const progressBar = $("progress-bar");
const maxBytes = Number(form.dataset.maxBytes);
const maxVideoBytes = Number(form.dataset.maxVideoBytes);
const DOWNLOAD_EXTENSIONS = { "image/jpeg": "jpg", "video/mp4": "mp4", "image/gif": "gif" };

let chosenUrl = null; // object URL of the chosen photo or video, shown as the "before"
let chosenKind = "photo"; // "photo", "video" or "gif", as far as the browser can tell
let running = null; // AbortController of the upload + polling in progress

function show(view) {
  for (const section of [form, progress, failure, result]) section.hidden = section !== view;
  view.querySelector("h2[tabindex]")?.focus();
}

function selected(name) {
  return form.querySelector(`input[name="${name}"]:checked`)?.value ?? "";
}

function setFormError(message) {
  formError.textContent = message;
  formError.hidden = !message;
}

function updateChoices() {
  const filtering = selected("operation") === "filter";
  filterStep.disabled = !filtering;
  filterStep.classList.toggle("is-off", !filtering);
  const picked = form.querySelector('input[name="filter"]:checked');
  submit.textContent = filtering ? `Apply ${picked?.value ?? "a filter"}` : "Colourise";
  const name = document.createElement("strong");
  name.textContent = picked?.value ?? "";
  $("filter-picked").replaceChildren(...(picked ? [name, `: ${picked.dataset.looks}`] : []));
}

function kindOf(file) {
  if (!file) return "photo";
  if (file.type === "image/gif") return "gif";
  return file.type.startsWith("video/") ? "video" : "photo";
}

function choosePhoto(file) {
  if (chosenUrl) URL.revokeObjectURL(chosenUrl);
  chosenUrl = file ? URL.createObjectURL(file) : null;
  chosenKind = kindOf(file);
  $("chosen").hidden = !file;
  drop.classList.toggle("has-photo", Boolean(file));
  const image = $("chosen-image");
  const video = $("chosen-video");
  video.pause();
  image.hidden = chosenKind === "video";
  video.hidden = chosenKind !== "video";
  if (file && chosenKind === "video") {
    image.removeAttribute("src");
    video.src = chosenUrl;
    video.play().catch(() => undefined);
  } else if (file) {
    video.removeAttribute("src");
    image.src = chosenUrl;
  }
  if (file) $("chosen-name").textContent = file.name;
  setFormError("");
}

function megabytes(bytes) {
  const text = (bytes / 1e6).toFixed(1);
  return text.endsWith(".0") ? text.slice(0, -2) : text;
}

function problemWith(file) {
  if (!file) return "Please choose a photo or a video first.";
  if (file.size === 0) return "That file is empty. Please choose another one.";
  const kind = kindOf(file);
  // A GIF may be a still photo or an animation: the server tells, by the larger limit.
  const limits = { photo: maxBytes, gif: Math.max(maxBytes, maxVideoBytes), video: maxVideoBytes };
  const limit = limits[kind];
  if (file.size > limit) {
    const what = kind === "photo" ? "photo" : kind === "gif" ? "GIF" : "video";
    return (
      `That ${what} is too large (${megabytes(file.size)} MB, ` +
      `${megabytes(file.size - limit)} MB over the ${megabytes(limit)} MB limit).`
    );
  }
  return "";
}

function seconds(value) {
  const whole = Math.max(1, Math.ceil(value));
  if (whole < 60) return `${whole} s`;
  const rest = whole % 60;
  return rest ? `${Math.floor(whole / 60)} min ${rest} s` : `${Math.floor(whole / 60)} min`;
}

function clipWord(job) {
  return (job.input_kind ?? chosenKind) === "gif" ? "GIF" : "video";
}

function describe(job) {
  if (job.status === "queued") {
    return job.position ? `Queued: #${job.position} in line.` : "Queued: waiting for a worker.";
  }
  if (job.status === "running") {
    const doing = job.operation === "filter" ? `Applying ${job.filter} to` : "Colourising";
    if (job.progress) {
      let text = `${doing} your ${clipWord(job)}: ${Math.floor(job.progress.fraction * 100)} %`;
      const eta = job.progress.eta_seconds;
      if (eta !== null) text += ` · about ${seconds(eta)} left`;
      return text;
    }
    return job.operation === "filter" ? `Applying ${job.filter}…` : "Colourising…";
  }
  return job.status === "done" ? "Done." : "Finished.";
}

function showProgress(job) {
  $("progress-text").textContent = describe(job);
  const fraction = job.progress?.fraction;
  const known = typeof fraction === "number";
  progressBar.classList.toggle("is-determinate", known);
  if (known) {
    progressBar.style.setProperty("--done", String(fraction));
    progressBar.setAttribute("aria-valuenow", String(Math.floor(fraction * 100)));
    progressBar.setAttribute("aria-valuemin", "0");
    progressBar.setAttribute("aria-valuemax", "100");
  } else {
    progressBar.removeAttribute("aria-valuenow");
  }
}

function isClipResult(job) {
  return job.result_type === "video/mp4" || job.result_type === "image/gif";
}

function finishResult(job, what) {
  const extension = DOWNLOAD_EXTENSIONS[job.result_type] ?? "jpg";
  download.href = job.result_url;
  download.download = `colorbot-${what.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.${extension}`;
  galleryLink.hidden = !job.gallery_url;
  if (job.gallery_url) galleryLink.href = job.gallery_url;
  show(result);
}

async function showClipResult(job) {
  $("compare").hidden = true;
  $("compare-control").hidden = true;
  $("clip-view").hidden = false;
  const word = clipWord(job);
  $("result-title").textContent =
    job.operation === "filter"
      ? `${job.filter} applied to your ${word}`
      : `Your ${word}, colourised`;
  const length = job.duration ? `${job.duration.toFixed(1)} s` : "";
  $("clip-note").textContent =
    job.result_type === "image/gif"
      ? `A ${length} GIF, looping: toggle Before / After to compare.`
      : `A ${length} video: toggle Before / After to compare the same moment.`;
  finishResult(job, job.operation === "filter" ? job.filter : "colourised");
  await clipView.show(job, chosenUrl);
}

async function showResult(job) {
  if (isClipResult(job)) {
    await showClipResult(job);
    return;
  }
  clipView.stop();
  $("clip-view").hidden = true;
  $("compare").hidden = false;
  $("compare-control").hidden = false;
  before.src = chosenUrl ?? job.input_url;
  after.src = job.result_url;
  await after.decode().catch(() => undefined); // a broken image still shows its alt text
  if (after.naturalWidth > 0) {
    $("compare").style.aspectRatio = `${after.naturalWidth} / ${after.naturalHeight}`;
  }
  $("result-title").textContent =
    job.operation === "filter" ? `${job.filter} applied` : "Your photo, colourised";
  compare.reset();
  finishResult(job, job.operation === "filter" ? job.filter : "colourised");
}

function showFailure(message) {
  $("failure-text").textContent = message;
  show(failure);
}

async function start(event) {
  event.preventDefault();
  const problem = problemWith(input.files[0]);
  if (problem) {
    setFormError(problem);
    formError.focus();
    return;
  }
  setFormError("");
  running?.abort();
  running = new AbortController();
  const { signal } = running;
  const clip = chosenKind !== "photo";
  const word = chosenKind === "gif" ? "GIF" : chosenKind;
  $("progress-title").textContent = `Working on your ${word}`;
  showProgress({ status: "uploading" });
  $("progress-text").textContent = "Uploading…";
  show(progress);
  try {
    const accepted = await submitJob(form, signal);
    showProgress(accepted);
    const job = await followJob(accepted, showProgress, signal, clip ? 1000 : undefined);
    if (job.status === "done") await showResult(job);
    else showFailure(job.error || "Sorry, that could not be finished.");
  } catch (error) {
    if (isAbort(error)) return;
    if (!(error instanceof ApiError)) {
      showFailure("Something went wrong in this page. Please reload it and try again.");
      throw error; // a bug here: let it reach the console too
    }
    if (error.status >= 400 && error.status < 500 && error.status !== 404) {
      // The upload itself was refused (not an image, too large, ...): fix it in the form.
      show(form);
      setFormError(error.message);
      formError.focus();
    } else {
      showFailure(error.message);
    }
  }
}

function restart() {
  running?.abort();
  running = null;
  clipView.stop();
  form.reset();
  choosePhoto(null);
  updateChoices();
  show(form);
  input.focus();
}

form.addEventListener("submit", start);
form.addEventListener("change", (event) => {
  if (event.target === input) choosePhoto(input.files[0]);
  updateChoices();
});
$("retry").addEventListener("click", () => form.requestSubmit());
for (const button of document.querySelectorAll('[data-action="restart"]')) {
  button.addEventListener("click", restart);
}

// Drag and drop: anywhere on the page while the form shows; the drop zone lights up.
function takeDroppedFile(event) {
  const file = event.dataTransfer?.files?.[0];
  if (!file || form.hidden) return;
  const transfer = new DataTransfer();
  transfer.items.add(file);
  input.files = transfer.files;
  choosePhoto(file);
}
window.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("is-over");
});
for (const type of ["dragleave", "dragend"]) {
  window.addEventListener(type, () => drop.classList.remove("is-over"));
}
window.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("is-over");
  takeDroppedFile(event);
});

form.noValidate = true; // our own messages replace the browser's
updateChoices();
if (input.files[0]) choosePhoto(input.files[0]); // a file kept by the browser's back button
