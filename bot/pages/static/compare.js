// The before/after comparison: the "after" picture lies over the "before" one and is clipped
// at a split line. A native range input drives it (arrow keys, Home/End, touch, screen
// readers); dragging on the picture itself moves the line too, while vertical swipes still
// scroll the page (touch-action: pan-y in the CSS).

export function setupCompare(root, range) {
  const apply = () => {
    const value = Number(range.value);
    root.style.setProperty("--split", `${value}%`);
    range.setAttribute("aria-valuetext", `${value}% before, ${100 - value}% after`);
  };
  const moveTo = (event) => {
    const box = root.getBoundingClientRect();
    if (box.width <= 0) return;
    const value = Math.round(((event.clientX - box.left) / box.width) * 100);
    range.value = String(Math.min(100, Math.max(0, value)));
    apply();
  };
  let dragging = false;
  root.addEventListener("pointerdown", (event) => {
    dragging = true;
    root.setPointerCapture(event.pointerId);
    moveTo(event);
  });
  root.addEventListener("pointermove", (event) => {
    if (dragging) moveTo(event);
  });
  for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
    root.addEventListener(type, () => {
      dragging = false;
    });
  }
  range.addEventListener("input", apply);
  apply();
  return {
    reset() {
      range.value = "50";
      apply();
    },
  };
}
