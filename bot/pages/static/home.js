// The home page: choose a photo (picker or drag and drop), colourise or pick a filter, upload,
// follow the job, then compare before/after and download. Four views share the page: the
// form, the progress card, the failure card and the result card; one is shown at a time.

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
const maxBytes = Number(form.dataset.maxBytes);

let chosenUrl = null; // object URL of the chosen photo, shown as the "before"
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

function choosePhoto(file) {
  if (chosenUrl) URL.revokeObjectURL(chosenUrl);
  chosenUrl = file ? URL.createObjectURL(file) : null;
  $("chosen").hidden = !file;
  drop.classList.toggle("has-photo", Boolean(file));
  if (file) {
    $("chosen-image").src = chosenUrl;
    $("chosen-name").textContent = file.name;
  }
  setFormError("");
}

function problemWith(file) {
  if (!file) return "Please choose a photo first.";
  if (file.size === 0) return "That file is empty. Please choose another photo.";
  if (file.size > maxBytes) {
    return `That file is too large; the limit is ${Math.round(maxBytes / 1e6)} MB.`;
  }
  return "";
}

function describe(job) {
  if (job.status === "queued") {
    return job.position ? `Queued: #${job.position} in line.` : "Queued: waiting for a worker.";
  }
  if (job.status === "running") {
    return job.operation === "filter" ? `Applying ${job.filter}…` : "Colourising…";
  }
  return job.status === "done" ? "Done." : "Finished.";
}

async function showResult(job) {
  before.src = chosenUrl ?? job.input_url;
  after.src = job.result_url;
  await after.decode().catch(() => undefined); // a broken image still shows its alt text
  if (after.naturalWidth > 0) {
    $("compare").style.aspectRatio = `${after.naturalWidth} / ${after.naturalHeight}`;
  }
  const what = job.operation === "filter" ? job.filter : "colourised";
  $("result-title").textContent =
    job.operation === "filter" ? `${job.filter} applied` : "Your photo, colourised";
  download.href = job.result_url;
  download.download = `colorbot-${what.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.jpg`;
  galleryLink.hidden = !job.gallery_url;
  if (job.gallery_url) galleryLink.href = job.gallery_url;
  compare.reset();
  show(result);
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
  $("progress-text").textContent = "Uploading…";
  show(progress);
  try {
    const accepted = await submitJob(form, signal);
    $("progress-text").textContent = describe(accepted);
    const job = await followJob(
      accepted,
      (update) => {
        $("progress-text").textContent = describe(update);
      },
      signal,
    );
    if (job.status === "done") await showResult(job);
    else showFailure(job.error || "Sorry, that photo could not be finished.");
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
