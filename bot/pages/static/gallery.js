// The gallery: before/after toggles on the cards, the before/after slider on an item's page,
// and votes sent with fetch() (the forms still post and come back without JavaScript).

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

for (const button of document.querySelectorAll(".shot-toggle")) {
  const shot = button.closest(".shot");
  button.hidden = false;
  button.addEventListener("click", () => {
    const showBefore = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(showBefore));
    shot.classList.toggle("shows-before", showBefore);
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
