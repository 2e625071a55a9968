// The gallery: before/after toggles on the cards, the before/after slider on an item's page
// (a clip's: the Before / After stage of clips.js), looping muted previews of clips while
// they are on screen, and votes sent with fetch() (the forms still post and come back
// without JavaScript).

import { setupClipView } from "./clips.js";
import { setupCompare } from "./compare.js";

const status = document.getElementById("vote-status");
let statusTimer = 0;

function announce(message) {
  if (!status) return;
  status.textContent = message;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => {
    status.textContent = "";
  }, 4000);
}

// Clip previews play only while they are on screen (and shown), so a page of them costs
// only what is seen.
const onScreen = new Set();
function playIfShown(video) {
  if (onScreen.has(video) && getComputedStyle(video).display !== "none") {
    video.play().catch(() => undefined); // muted: allowed; a refusal leaves the poster
  } else {
    video.pause();
  }
}
const watcher = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting) onScreen.add(entry.target);
    else onScreen.delete(entry.target);
    playIfShown(entry.target);
  }
});
for (const video of document.querySelectorAll("video[data-preview]")) watcher.observe(video);

function syncClipCard(shot, showBefore) {
  const shown = shot.querySelector(showBefore ? ".shot-clip-before" : ".shot-clip-after");
  const other = shot.querySelector(showBefore ? ".shot-clip-after" : ".shot-clip-before");
  if (!(shown instanceof HTMLVideoElement) || !(other instanceof HTMLVideoElement)) return;
  if (other.currentTime > 0 && shown.duration) {
    shown.currentTime = Math.min(other.currentTime, Math.max(0, shown.duration - 0.05));
  }
  playIfShown(other);
  playIfShown(shown);
}

for (const button of document.querySelectorAll(".shot-toggle")) {
  const shot = button.closest(".shot");
  button.hidden = false;
  button.addEventListener("click", () => {
    const showBefore = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(showBefore));
    shot.classList.toggle("shows-before", showBefore);
    if (shot.classList.contains("is-clip")) syncClipCard(shot, showBefore);
  });
}

async function sendVote(form) {
  const button = form.querySelector("button");
  const count = form.querySelector("[data-count]");
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      announce(body.error || "That vote didn't work; please try again.");
      return;
    }
    count.textContent = String(body.votes);
    button.setAttribute("aria-pressed", "true");
    announce(body.counted ? "Thank you for your vote!" : "You've already voted for this one.");
  } catch {
    announce("That vote didn't reach us; please try again.");
  } finally {
    button.disabled = false;
  }
}

for (const form of document.querySelectorAll("form[data-vote]")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendVote(form);
  });
}

const compare = document.getElementById("compare");
const split = document.getElementById("split");
if (compare && split) setupCompare(compare, split);

const clipItem = document.querySelector(".item-clip");
if (clipItem) {
  const { result, type, before, poster } = clipItem.dataset;
  setupClipView(clipItem).show(
    { result_type: type, result_url: result, input_url: before ?? null, poster_url: poster ?? null },
    null,
  );
}
